#!/usr/bin/env node
// The CloudNativePG operator, from its own Go module: CRDs, webhook manifests and the manager binary.
//
// The module github.com/cloudnative-pg/cloudnative-pg@v1.30.0 is fetched through the Go module proxy
// (`go mod download` in a copy of scripts/node/cnpg-module/) and its checksum must equal the one in
// the committed scripts/node/cnpg-module/go.sum, so the repository alone decides which bits are used.
// Everything lands in <kmcpCacheDir()>/cnpg-v1.30.0/:
//   module/crds/*.yaml        config/crd/bases/ (the 11 postgresql.cnpg.io CRDs)
//   module/webhook/*.yaml     config/webhook/ (manifests.yaml holds the webhook configurations)
//   module/module.json        where the module was unpacked and its checksum
//   bin/manager               cmd/manager, CGO_ENABLED=0, -trimpath (~8 min cold on 2 cores)
//   logs/                     output of go
//
// CLI:    node scripts/node/cnpg.mjs [crds|manager]   (default: manager; prints the result as JSON)
// Module: import { ensureCnpgCrds, ensureCnpg } from './scripts/node/cnpg.mjs'

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kmcpCacheDir, NodeBuildError, publish, reporter, run, withLock } from './cache.mjs';

export const CNPG_VERSION = 'v1.30.0';
export const CNPG_MODULE = 'github.com/cloudnative-pg/cloudnative-pg';
const WRAPPER_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cnpg-module');
const VERSIONS_PKG = `${CNPG_MODULE}/pkg/versions`;
// The same -X variables as CNPG's Makefile, so `manager version` reports the real version.
const MANAGER_LDFLAGS = ['-s', '-w', `-X ${VERSIONS_PKG}.buildVersion=${CNPG_VERSION.slice(1)}`, `-X ${VERSIONS_PKG}.buildCommit=${CNPG_VERSION}`].join(' ');

const say = reporter('cnpg');

export function cnpgCacheDir() {
  return path.join(kmcpCacheDir(), `cnpg-${CNPG_VERSION}`);
}

/** The h1: checksums of the module zip and of its go.mod, as committed in the wrapper's go.sum. */
export function committedChecksums(wrapperDir = WRAPPER_DIR) {
  const sums = {};
  for (const line of fs.readFileSync(path.join(wrapperDir, 'go.sum'), 'utf8').split('\n')) {
    const [mod, ver, hash] = line.trim().split(/\s+/);
    if (mod !== CNPG_MODULE) continue;
    if (ver === CNPG_VERSION) sums.zip = hash;
    if (ver === `${CNPG_VERSION}/go.mod`) sums.goMod = hash;
  }
  if (!sums.zip || !sums.goMod) {
    throw new NodeBuildError(`${path.join(wrapperDir, 'go.sum')} has no checksums for ${CNPG_MODULE} ${CNPG_VERSION}`);
  }
  return sums;
}

function goAvailable() {
  const res = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    throw new NodeBuildError('the Go toolchain (`go`) was not found on PATH: install Go 1.26+ from https://go.dev/dl/ to fetch and build CloudNativePG');
  }
  return res.stdout.trim();
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Copies the regular *.yaml files of `from` into a fresh directory `to`, writable by us. */
function copyYamlFiles(from, to) {
  fs.mkdirSync(to, { recursive: true });
  const names = fs.readdirSync(from).filter((f) => /\.ya?ml$/.test(f)).sort();
  for (const name of names) fs.writeFileSync(path.join(to, name), fs.readFileSync(path.join(from, name)), { mode: 0o644 });
  return names;
}

function moduleResult(moduleOut, info) {
  return {
    version: CNPG_VERSION,
    moduleDir: info.moduleDir,
    crdsDir: path.join(moduleOut, 'crds'),
    webhookDir: path.join(moduleOut, 'webhook'),
    webhookManifests: path.join(moduleOut, 'webhook', 'manifests.yaml'),
  };
}

/**
 * Fetches (or reuses) the verified CNPG module and copies its CRDs and webhook manifests into the
 * cache. Fast: no compilation. Returns {version, moduleDir, crdsDir, webhookDir, webhookManifests}
 * where webhookManifests is the file with the Mutating/ValidatingWebhookConfigurations.
 */
export async function ensureCnpgCrds({ wrapperDir = WRAPPER_DIR } = {}) {
  const sums = committedChecksums(wrapperDir);
  const base = cnpgCacheDir();
  const moduleOut = path.join(base, 'module');
  const current = () => {
    const info = readJson(path.join(moduleOut, 'module.json'));
    return info && info.sum === sums.zip && fs.existsSync(info.moduleDir) ? info : undefined;
  };
  const ready = current();
  if (ready) return moduleResult(moduleOut, ready);
  return withLock(
    base,
    'module',
    async () => {
      const again = current();
      if (again) return moduleResult(moduleOut, again);
      const goVersion = goAvailable();
      // go mod download may add missing lines to go.sum: work on a copy so the committed one never changes.
      const work = path.join(base, `.wrapper-${process.pid}`);
      const tmp = path.join(base, `.module-${process.pid}`);
      const logFile = path.join(base, 'logs', 'module-download.log');
      fs.rmSync(work, { recursive: true, force: true });
      fs.mkdirSync(work, { recursive: true });
      try {
        for (const f of ['go.mod', 'go.sum']) fs.copyFileSync(path.join(wrapperDir, f), path.join(work, f));
        say(`fetching ${CNPG_MODULE}@${CNPG_VERSION} through the Go module proxy (${goVersion}); log: ${logFile}`);
        const { stdout } = await run('go', ['mod', 'download', '-json', CNPG_MODULE], {
          cwd: work,
          env: { ...process.env, GOWORK: 'off', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly`.trim() },
          logFile,
          label: `downloading ${CNPG_MODULE}@${CNPG_VERSION}`,
          say,
          capture: true,
        }).catch((e) => {
          throw new NodeBuildError(`${e.message}. A "checksum mismatch" means the proxy served other bits than scripts/node/cnpg-module/go.sum records.`);
        });
        const dl = JSON.parse(stdout);
        if (dl.Error) throw new NodeBuildError(`go mod download ${CNPG_MODULE}: ${dl.Error}`);
        // Belt and braces: go compares with go.sum, we compare again with the committed file.
        if (dl.Version !== CNPG_VERSION || dl.Sum !== sums.zip || dl.GoModSum !== sums.goMod) {
          throw new NodeBuildError(
            `${CNPG_MODULE}: got ${dl.Version} ${dl.Sum} (go.mod ${dl.GoModSum}), but scripts/node/cnpg-module/go.sum pins ${CNPG_VERSION} ${sums.zip} (go.mod ${sums.goMod})`,
          );
        }
        fs.rmSync(tmp, { recursive: true, force: true });
        const crds = copyYamlFiles(path.join(dl.Dir, 'config', 'crd', 'bases'), path.join(tmp, 'crds'));
        copyYamlFiles(path.join(dl.Dir, 'config', 'webhook'), path.join(tmp, 'webhook'));
        if (crds.length === 0) throw new NodeBuildError(`${dl.Dir}/config/crd/bases holds no CRDs`);
        const info = { module: CNPG_MODULE, version: CNPG_VERSION, sum: dl.Sum, goModSum: dl.GoModSum, moduleDir: dl.Dir };
        fs.writeFileSync(path.join(tmp, 'module.json'), JSON.stringify(info, null, 2) + '\n');
        publish(tmp, moduleOut);
        say(`${crds.length} CRDs and the webhook manifests of ${CNPG_VERSION} are in ${moduleOut}`);
        return moduleResult(moduleOut, info);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
    { say },
  );
}

/**
 * ensureCnpgCrds() plus the manager binary (operator and instance manager in one static binary)
 * built from the verified module. Returns {version, moduleDir, crdsDir, webhookDir, webhookManifests, managerBin}.
 */
export async function ensureCnpg() {
  const mod = await ensureCnpgCrds();
  const binDir = path.join(cnpgCacheDir(), 'bin');
  const managerBin = path.join(binDir, 'manager');
  const stampFile = `${managerBin}.stamp`;
  const wanted = (goVersion) => JSON.stringify({ sum: readJson(path.join(path.dirname(mod.crdsDir), 'module.json'))?.sum, ldflags: MANAGER_LDFLAGS, go: goVersion });
  const current = (goVersion) => fs.existsSync(managerBin) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8').trim() === wanted(goVersion);
  // The stamp names the Go version, so a toolchain upgrade rebuilds; checking it costs one `go env`.
  const goVersion = goAvailable();
  if (current(goVersion)) return { ...mod, managerBin };
  return withLock(
    binDir,
    'manager',
    async () => {
      if (current(goVersion)) return { ...mod, managerBin };
      const tmp = `${managerBin}.tmp-${process.pid}`;
      const logFile = path.join(cnpgCacheDir(), 'logs', 'build-manager.log');
      fs.rmSync(logFile, { force: true });
      say(`building the CNPG ${CNPG_VERSION} manager -> ${managerBin}; a cold build takes ~8 min on 2 cores; log: ${logFile}`);
      try {
        // Built inside the module's own (read-only) directory: its go.mod and go.sum pin every dependency.
        const { seconds } = await run('go', ['build', '-trimpath', '-ldflags', MANAGER_LDFLAGS, '-o', tmp, './cmd/manager'], {
          cwd: mod.moduleDir,
          env: { ...process.env, GOWORK: 'off', CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly`.trim() },
          logFile,
          label: `building the CNPG manager`,
          say,
        });
        fs.renameSync(tmp, managerBin);
        fs.writeFileSync(stampFile, wanted(goVersion) + '\n');
        say(`built the CNPG manager in ${seconds.toFixed(0)}s`);
      } finally {
        fs.rmSync(tmp, { force: true });
      }
      return { ...mod, managerBin };
    },
    { say },
  );
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const what = process.argv[2] ?? 'manager';
  if (!['crds', 'manager'].includes(what)) {
    process.stderr.write('usage: node scripts/node/cnpg.mjs [crds|manager]\n');
    process.exit(2);
  }
  (what === 'crds' ? ensureCnpgCrds() : ensureCnpg()).then(
    (r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'),
    (e) => {
      process.stderr.write(`cnpg: error: ${e instanceof NodeBuildError ? e.message : e.stack}\n`);
      process.exit(1);
    },
  );
}
