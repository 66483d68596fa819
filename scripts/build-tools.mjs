#!/usr/bin/env node
// Builds the Go test tools:
//   kube-harness  from test/kube-apiserver (etcd + kube-apiserver v1.36.3 + KCM) -> .cache/bin/
//   helm          helm.sh/helm/v3/cmd/helm at a pinned version                -> .cache/bin/
//   kube-node     from test/kube-node (kubelet, kube-scheduler, kube-controller-manager,
//                 kube-proxy v1.36.3 in one binary)   -> <kmcp cache>/kube-node-v1.36.3-<key>/
//   coredns       github.com/coredns/coredns at a pinned version -> <kmcp cache>/coredns-<version>/
// Rebuilds kube-harness when the binary is missing or older than its sources;
// builds helm when missing or when the pinned version changed. kube-node and coredns (the real
// node, scripts/node/runtime.mjs) live in the machine-wide kmcp cache (scripts/node/cache.mjs),
// in a folder keyed by version and (kube-node) a hash of its sources and flags, so every clone on
// the machine reuses them.
//
// CLI:    node scripts/build-tools.mjs [kube-harness] [helm] [kube-node] [coredns] [--force]
//         (no tool names = kube-harness and helm)
// Module: import { buildTools, ensureKubeHarness, ensureHelm, ensureKubeNode, ensureCoreDns } from './build-tools.mjs'
//
// Plain Node ESM, no dependencies. Progress goes to stderr. Logs of the go
// builds go to .cache/logs/build-<tool>.log.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kmcpCacheDir, publish, withLock as withCacheLock } from './node/cache.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const KUBERNETES_VERSION = 'v1.36.3';
export const HELM_VERSION = 'v3.22.0';
// k8s.io/client-go in helm v3.22.0's go.mod is v0.37.0: helm's default Capabilities.KubeVersion.
const HELM_K8S_MINOR = '37';
// Bump when the helm build flags change, so existing binaries are rebuilt.
const HELM_STAMP = `${HELM_VERSION} ldflags-1`;
export const MIN_GO = [1, 26];
// CoreDNS for the real node: 1.12.x builds with Go 1.26 and serves cluster.local from the API server.
export const COREDNS_VERSION = 'v1.12.4';

const HARNESS_SRC = path.join(ROOT, 'test', 'kube-apiserver');
const KUBE_NODE_SRC = path.join(ROOT, 'test', 'kube-node');
const DEFAULT_BIN_DIR = path.join(ROOT, '.cache', 'bin');
const LOG_DIR = path.join(ROOT, '.cache', 'logs');

export class BuildError extends Error {}

function say(msg) {
  process.stderr.write(`build-tools: ${msg}\n`);
}

function rel(p) {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

/** Returns the `go` version as [major, minor], or throws a BuildError with what to do. */
export function checkGo() {
  const res = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    throw new BuildError(
      'the Go toolchain (`go`) was not found on PATH: install Go 1.26+ from https://go.dev/dl/ ' +
        '(apt-get install golang is too old for Kubernetes 1.36) and put its bin/ on PATH, ' +
        'or set KMCP_KUBE_HARNESS_BIN to a prebuilt kube-harness binary',
    );
  }
  const m = /go(\d+)\.(\d+)/.exec(res.stdout);
  const ver = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (ver[0] < MIN_GO[0] || (ver[0] === MIN_GO[0] && ver[1] < MIN_GO[1])) {
    // go >= 1.21 can fetch the toolchain named in go.mod (GOTOOLCHAIN=auto) through the module proxy.
    say(`warning: ${res.stdout.trim()} is older than go1.${MIN_GO[1]}; relying on GOTOOLCHAIN=auto to fetch a newer toolchain`);
  }
  return ver;
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

function harnessSources() {
  const files = fs
    .readdirSync(HARNESS_SRC)
    .filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum')
    .map((f) => path.join(HARNESS_SRC, f));
  return files;
}

function harnessLdflags(commit = 'kmcp-kube-harness') {
  const minor = KUBERNETES_VERSION.split('.')[1];
  return [
    '-s',
    '-w',
    `-X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION}`,
    '-X k8s.io/component-base/version.gitMajor=1',
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
    '-X k8s.io/component-base/version.gitTreeState=clean',
    `-X k8s.io/component-base/version.gitCommit=${commit}`,
  ].join(' ');
}

/**
 * True when the kube-harness binary is missing, older than any of its sources
 * (test/kube-apiserver/*.go, go.mod, go.sum) or was built with other flags.
 */
export function kubeHarnessIsStale(bin = path.join(DEFAULT_BIN_DIR, 'kube-harness')) {
  const b = mtime(bin);
  if (b < 0) return true;
  let stamp = '';
  try {
    stamp = fs.readFileSync(`${bin}.ldflags`, 'utf8');
  } catch {}
  if (stamp.trim() !== harnessLdflags()) return true;
  return harnessSources().some((f) => mtime(f) > b);
}

/** Cross-process lock so two concurrent test runs do not build the same tool at once (the cache's lock). */
function withLock(name, fn) {
  return withCacheLock(DEFAULT_BIN_DIR, name, fn, { say });
}

/** Runs `go args...` in cwd, logging to logFile, with a heartbeat on stderr. */
function runGo(args, { cwd, env, logFile, label }) {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'w');
  fs.writeSync(out, `$ (cd ${cwd} && go ${args.join(' ')})\n`);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, { cwd, env, stdio: ['ignore', out, out] });
    const beat = setInterval(() => {
      say(`still building ${label} (${Math.round((Date.now() - started) / 1000)}s)...`);
    }, 60_000);
    beat.unref();
    const finish = (err) => {
      clearInterval(beat);
      fs.closeSync(out);
      if (err) reject(err);
      else resolve((Date.now() - started) / 1000);
    };
    child.on('error', (e) => finish(new BuildError(`cannot run go: ${e.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) return finish();
      let last = '';
      try {
        const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n');
        last = lines[lines.length - 1] ?? '';
      } catch {}
      finish(
        new BuildError(
          `building ${label} failed (${signal ?? `exit ${code}`}); see ${rel(logFile)}` + (last ? ` (last line: ${last.slice(0, 200)})` : ''),
        ),
      );
    });
  });
}

function buildEnv() {
  return { ...process.env, CGO_ENABLED: '0' };
}

/** Builds .cache/bin/kube-harness if missing or stale; returns its path. Honours KMCP_KUBE_HARNESS_BIN. */
export async function ensureKubeHarness({ force = false, binDir = DEFAULT_BIN_DIR } = {}) {
  if (process.env.KMCP_KUBE_HARNESS_BIN) return process.env.KMCP_KUBE_HARNESS_BIN;
  const bin = path.join(binDir, 'kube-harness');
  if (!force && !kubeHarnessIsStale(bin)) return bin;
  return withLock('kube-harness', async () => {
    if (!force && !kubeHarnessIsStale(bin)) return bin; // built by someone else meanwhile
    checkGo();
    const ldflags = harnessLdflags();
    const tmp = `${bin}.tmp-${process.pid}`;
    const logFile = path.join(LOG_DIR, 'build-kube-harness.log');
    const fresh = mtime(bin) < 0;
    say(
      `building kube-harness (Kubernetes ${KUBERNETES_VERSION}) -> ${rel(bin)}` +
        (fresh ? '; a cold build takes ~10 min on 2 cores, a warm one ~30 s' : '') +
        `; log: ${rel(logFile)}`,
    );
    try {
      const secs = await runGo(['build', '-trimpath', '-ldflags', ldflags, '-o', tmp, '.'], {
        cwd: HARNESS_SRC,
        env: buildEnv(),
        logFile,
        label: 'kube-harness',
      });
      fs.renameSync(tmp, bin);
      fs.writeFileSync(`${bin}.ldflags`, ldflags + '\n');
      say(`built kube-harness in ${secs.toFixed(0)}s`);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    return bin;
  });
}

/** Builds .cache/bin/helm (pinned HELM_VERSION) if missing; returns its path. */
export async function ensureHelm({ force = false, binDir = DEFAULT_BIN_DIR } = {}) {
  const bin = path.join(binDir, 'helm');
  const stamp = path.join(binDir, '.helm.version');
  const current = () => mtime(bin) >= 0 && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === HELM_STAMP;
  if (!force && current()) return bin;
  return withLock('helm', async () => {
    if (!force && current()) return bin;
    checkGo();
    const logFile = path.join(LOG_DIR, 'build-helm.log');
    const gobin = path.join(binDir, `.helm-build-${process.pid}`);
    say(`building helm ${HELM_VERSION} -> ${rel(bin)}; log: ${rel(logFile)}`);
    try {
      // The same -X flags as helm's Makefile, so `helm version` reports the real version.
      const ldflags = [
        '-s',
        '-w',
        `-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`,
        '-X helm.sh/helm/v3/internal/version.gitTreeState=clean',
        '-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1',
        `-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${HELM_K8S_MINOR}`,
        '-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1',
        `-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${HELM_K8S_MINOR}`,
      ].join(' ');
      const secs = await runGo(['install', '-trimpath', '-ldflags', ldflags, `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], {
        cwd: binDir,
        env: { ...buildEnv(), GOBIN: gobin },
        logFile,
        label: 'helm',
      });
      fs.renameSync(path.join(gobin, 'helm'), bin);
      fs.writeFileSync(stamp, HELM_STAMP + '\n');
      say(`built helm in ${secs.toFixed(0)}s`);
    } finally {
      fs.rmSync(gobin, { recursive: true, force: true });
    }
    return bin;
  });
}

/** The cache folder of kube-node: keyed by the Kubernetes version and a hash of sources + flags. */
export function kubeNodeDir() {
  const hash = createHash('sha256');
  for (const f of fs.readdirSync(KUBE_NODE_SRC).filter((n) => n.endsWith('.go') || n === 'go.mod' || n === 'go.sum').sort()) {
    hash.update(f).update(fs.readFileSync(path.join(KUBE_NODE_SRC, f)));
  }
  hash.update(harnessLdflags('kmcp-kube-node'));
  return path.join(kmcpCacheDir(), `kube-node-${KUBERNETES_VERSION}-${hash.digest('hex').slice(0, 12)}`);
}

/**
 * Builds <kmcp cache>/kube-node-<version>-<key>/kube-node (kubelet, kube-scheduler,
 * kube-controller-manager, kube-proxy; dispatch on argv[1]) if missing; returns its path.
 * KMCP_KUBE_NODE_BIN=/path skips building.
 */
export async function ensureKubeNode({ force = false } = {}) {
  if (process.env.KMCP_KUBE_NODE_BIN) return process.env.KMCP_KUBE_NODE_BIN;
  const dir = kubeNodeDir();
  const bin = path.join(dir, 'kube-node');
  if (!force && fs.existsSync(bin)) return bin;
  return withCacheLock(kmcpCacheDir(), 'kube-node', async () => {
    if (!force && fs.existsSync(bin)) return bin;
    checkGo();
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    const logFile = path.join(LOG_DIR, 'build-kube-node.log');
    say(`building kube-node (kubelet, scheduler, controller-manager, proxy ${KUBERNETES_VERSION}) -> ${bin}; a cold build takes ~10 min on 2 cores; log: ${rel(logFile)}`);
    try {
      const secs = await runGo(['build', '-trimpath', '-ldflags', harnessLdflags('kmcp-kube-node'), '-o', path.join(tmp, 'kube-node'), '.'], {
        cwd: KUBE_NODE_SRC,
        env: buildEnv(),
        logFile,
        label: 'kube-node',
      });
      publish(tmp, dir);
      say(`built kube-node in ${secs.toFixed(0)}s`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return bin;
  });
}

/** Builds <kmcp cache>/coredns-<version>/coredns with `go install` if missing; returns its path. */
export async function ensureCoreDns({ force = false } = {}) {
  if (process.env.KMCP_COREDNS_BIN) return process.env.KMCP_COREDNS_BIN;
  const dir = path.join(kmcpCacheDir(), `coredns-${COREDNS_VERSION}`);
  const bin = path.join(dir, 'coredns');
  if (!force && fs.existsSync(bin)) return bin;
  return withCacheLock(kmcpCacheDir(), 'coredns', async () => {
    if (!force && fs.existsSync(bin)) return bin;
    checkGo();
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    const logFile = path.join(LOG_DIR, 'build-coredns.log');
    say(`building coredns ${COREDNS_VERSION} -> ${bin} (~3 min cold); log: ${rel(logFile)}`);
    try {
      const secs = await runGo(['install', '-trimpath', '-ldflags', '-s -w', `github.com/coredns/coredns@${COREDNS_VERSION}`], {
        cwd: tmp,
        env: { ...buildEnv(), GOBIN: tmp, GOFLAGS: '-mod=mod' },
        logFile,
        label: 'coredns',
      });
      publish(tmp, dir);
      say(`built coredns in ${secs.toFixed(0)}s`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return bin;
  });
}

const BUILDERS = {
  'kube-harness': ['kubeHarness', ensureKubeHarness],
  helm: ['helm', ensureHelm],
  'kube-node': ['kubeNode', ensureKubeNode],
  coredns: ['coreDns', ensureCoreDns],
};

/** Ensures the named tools (default: kube-harness and helm). Returns {kubeHarness?, helm?, kubeNode?, coreDns?} paths. */
export async function buildTools({ tools = ['kube-harness', 'helm'], force = false } = {}) {
  const result = {};
  for (const t of tools) {
    const builder = BUILDERS[t];
    if (!builder) throw new BuildError(`unknown tool "${t}" (known: ${Object.keys(BUILDERS).join(', ')})`);
    result[builder[0]] = await builder[1]({ force });
  }
  return result;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const tools = args.filter((a) => !a.startsWith('--'));
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write('usage: node scripts/build-tools.mjs [kube-harness] [helm] [kube-node] [coredns] [--force]\n');
    process.exit(0);
  }
  buildTools({ tools: tools.length ? tools : undefined, force }).then(
    (r) => {
      for (const p of Object.values(r)) process.stdout.write(p + '\n');
    },
    (e) => {
      process.stderr.write(`build-tools: error: ${e instanceof BuildError ? e.message : e.stack}\n`);
      process.exit(1);
    },
  );
}
