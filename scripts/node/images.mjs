#!/usr/bin/env node
// The container images of the real node, built locally: no Docker, no registry.
//
//   localhost/postgresql:<15.x>       Debian bookworm minbase + postgresql-15 (mmdebstrap, the machine's
//                                     apt sources), user postgres = uid/gid 26 as CNPG expects,
//                                     PATH starting with /usr/lib/postgresql/15/bin
//   localhost/cnpg-operator:v1.30.0   the CNPG manager at /operator/manager_amd64 with /manager linking
//                                     to it (the layout of CNPG's own image: the operator needs
//                                     operator/manager_<arch> beside its working directory)
//   localhost/pause:kmcp-1            scripts/node/pause (static Go): the pod sandboxes' pause process
//
// Each image is an OCI archive for `ctr -n k8s.io images import --base-name <repository> <tar>`,
// cached in <kmcpCacheDir()>/node-images/<name>-<key>/ where the key hashes every input (versions,
// apt sources, this script, the manager binary, the pause sources), so a second call is instant.
// A changed Debian mirror alone does not rebuild: delete the postgres-* folder (or pass --force).
// Needs root (mmdebstrap creates device nodes and files owned by uid 26). Logs: node-images/logs/.
//
// CLI:    node scripts/node/images.mjs [--force]   (builds the CNPG manager first; prints JSON)
// Module: import { ensureNodeImages } from './scripts/node/images.mjs'

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kmcpCacheDir, NodeBuildError, publish, removeTree, reporter, run, withLock } from './cache.mjs';
import { CNPG_VERSION } from './cnpg.mjs';
import { packImage, umociVersion } from './oci.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PAUSE_SRC = path.join(HERE, 'pause');
export const PG_MAJOR = '15';
export const DEBIAN_SUITE = 'bookworm';
export const OPERATOR_REF = `localhost/cnpg-operator:${CNPG_VERSION}`;
export const PAUSE_REF = 'localhost/pause:kmcp-1';
export const POSTGRES_REPOSITORY = 'localhost/postgresql';
// Every timestamp we control (files of the rootfs via SOURCE_DATE_EPOCH, image metadata): 2024-01-01.
const EPOCH = 1704067200;
const PG_BIN = `/usr/lib/postgresql/${PG_MAJOR}/bin`;
const PATH_ENV = `PATH=${PG_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
// Files no one reads in a database container: left out when dpkg unpacks, to keep the image small.
const DPKG_EXCLUDES = ['/usr/share/man/*', '/usr/share/doc/*', '/usr/share/info/*', '/usr/share/locale/*', '/usr/share/lintian/*'];

const say = reporter('node-images');

export function imagesCacheDir() {
  return path.join(kmcpCacheDir(), 'node-images');
}

function sha256(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' || Buffer.isBuffer(p) ? p : JSON.stringify(p)).update('\0');
  return h.digest('hex');
}

function fileHash(file) {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** This script and its helpers: any change to how images are built changes every key. */
function scriptsHash() {
  return sha256(...['images.mjs', 'oci.mjs', 'cache.mjs'].map((f) => fs.readFileSync(path.join(HERE, f))));
}

function commandOutput(cmd, args) {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  if (res.error || res.status !== 0) return undefined;
  return res.stdout.trim();
}

/** The machine's active apt sources files that name the Debian suite (mmdebstrap takes them as mirrors). */
export function aptSources() {
  const candidates = ['/etc/apt/sources.list'];
  try {
    for (const f of fs.readdirSync('/etc/apt/sources.list.d').sort()) {
      if (f.endsWith('.list') || f.endsWith('.sources')) candidates.push(path.join('/etc/apt/sources.list.d', f));
    }
  } catch {}
  return candidates.filter((f) => {
    try {
      const text = fs.readFileSync(f, 'utf8');
      return text.split('\n').some((l) => !l.trim().startsWith('#') && new RegExp(`\\b${DEBIAN_SUITE}\\b`).test(l));
    } catch {
      return false;
    }
  });
}

// Cached images not used for this long are removed when another version of the same image is built.
const UNUSED_MAX_MS = 7 * 24 * 3600 * 1000;

/** Removes the other <name>-* entries that no one has loaded for UNUSED_MAX_MS (image.json mtime = last use). */
function pruneUnused(base, name, keepId) {
  for (const f of fs.readdirSync(base)) {
    if (!f.startsWith(`${name}-`) || f === keepId) continue;
    let lastUse = 0;
    try {
      lastUse = fs.statSync(path.join(base, f, 'image.json')).mtimeMs;
    } catch {}
    if (lastUse && Date.now() - lastUse > UNUSED_MAX_MS) {
      say(`removing ${f}: unused for more than ${UNUSED_MAX_MS / 86_400_000} days`);
      removeTree(path.join(base, f));
    }
  }
}

/**
 * Returns the cached <name>-<key> image, or runs build(tmpDir, logFile) under a lock and publishes
 * tmpDir atomically. build returns {ref, version?, rootfs?} and writes tmpDir/image.tar.
 */
async function cachedImage(name, key, build, force) {
  const base = imagesCacheDir();
  const id = `${name}-${key.slice(0, 16)}`;
  const dir = path.join(base, id);
  const manifest = path.join(dir, 'image.json');
  const load = () => {
    const info = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    const now = new Date();
    fs.utimesSync(manifest, now, now);
    return { ...info, tar: path.join(dir, 'image.tar'), ...(info.rootfs ? { rootfs: path.join(dir, info.rootfs) } : {}) };
  };
  if (!force && fs.existsSync(manifest)) return load();
  // One lock per key: builds of other versions of this script (other worktrees) do not wait for us.
  return withLock(
    base,
    id,
    async () => {
      if (!force && fs.existsSync(manifest)) return load();
      // Holding the lock, any .<id>-<pid> folder is what a killed build left behind.
      for (const f of fs.readdirSync(base)) if (f.startsWith(`.${id}-`)) removeTree(path.join(base, f));
      const tmp = path.join(base, `.${id}-${process.pid}`);
      fs.mkdirSync(tmp, { recursive: true });
      const logFile = path.join(base, 'logs', `${id}.log`);
      fs.rmSync(logFile, { force: true });
      const started = Date.now();
      try {
        const info = await build(tmp, logFile);
        fs.writeFileSync(path.join(tmp, 'image.json'), JSON.stringify({ ...info, key }, null, 2) + '\n');
        publish(tmp, dir);
      } finally {
        removeTree(tmp);
      }
      say(`${name} image ready in ${((Date.now() - started) / 1000).toFixed(0)}s: ${dir}`);
      pruneUnused(base, name, id);
      return load();
    },
    { say },
  );
}

/** The PostgreSQL version installed in a Debian rootfs, from dpkg's database (e.g. "15.14"). */
export function installedPostgresVersion(rootfs) {
  const status = fs.readFileSync(path.join(rootfs, 'var', 'lib', 'dpkg', 'status'), 'utf8');
  const stanza = status.split('\n\n').find((s) => new RegExp(`^Package: postgresql-${PG_MAJOR}$`, 'm').test(s));
  const version = stanza && /^Version: (?:\d+:)?(\d+\.\d+)/m.exec(stanza)?.[1];
  if (!version) throw new NodeBuildError(`postgresql-${PG_MAJOR} is not installed in ${rootfs}`);
  return version;
}

async function buildPostgres(tmp, { sources, logFile }) {
  const rootfs = path.join(tmp, 'rootfs');
  // postgres is created before postgresql-common's postinst runs, which then keeps our uid/gid 26.
  // Debian's base-passwd gives gid 26 to "tape": that group goes, so gid 26 resolves to postgres.
  const addUser = [
    'for f in group gshadow; do if [ -f "$1/etc/$f" ]; then sed -i "/^tape:/d" "$1/etc/$f"; fi; done',
    'echo "postgres:x:26:" >> "$1/etc/group"',
    'echo "postgres:!::" >> "$1/etc/gshadow"',
    'echo "postgres:x:26:26:PostgreSQL administrator:/var/lib/postgresql:/bin/bash" >> "$1/etc/passwd"',
    'echo "postgres:*:19723:0:99999:7:::" >> "$1/etc/shadow"',
  ].join('; ');
  // The package's postinst creates a "main" cluster CNPG never uses (it runs initdb into its own PGDATA).
  // LLVM (libLLVM + libz3, ~130 MB of the ~370) only serves PostgreSQL's optional JIT: without the
  // llvmjit provider PostgreSQL runs every query interpreted, which is what small test clusters want.
  // The ssl-cert package's self-signed "snakeoil" key pair is generated at install time: a private key
  // baked into an image, different on every build, that CNPG never uses (it brings its own certificates).
  const pgLib = `"$1/usr/lib/postgresql/${PG_MAJOR}/lib"`;
  const cleanUp = [
    `rm -rf "$1/var/lib/postgresql/${PG_MAJOR}" "$1/etc/postgresql/${PG_MAJOR}" "$1"/var/log/* "$1"/var/cache/debconf/*-old`,
    'rm -f "$1"/etc/ssl/private/ssl-cert-snakeoil.key "$1"/etc/ssl/certs/ssl-cert-snakeoil.pem',
    'find "$1/etc/ssl/certs" -lname ssl-cert-snakeoil.pem -delete',
    `rm -rf ${pgLib}/llvmjit.so ${pgLib}/llvmjit_types.bc ${pgLib}/bitcode "$1"/usr/lib/x86_64-linux-gnu/libLLVM-*.so* "$1"/usr/lib/x86_64-linux-gnu/libz3.so*`,
  ].join('; ');
  const args = [
    '--variant=minbase',
    `--include=postgresql-${PG_MAJOR}`,
    '--aptopt=APT::Install-Recommends "false"',
    // A throwaway tree: no fsync per file (the slowest part of dpkg on a busy disk).
    '--dpkgopt=force-unsafe-io',
    ...DPKG_EXCLUDES.map((p) => `--dpkgopt=path-exclude=${p}`),
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    `--essential-hook=${addUser}`,
    `--customize-hook=${cleanUp}`,
    DEBIAN_SUITE,
    rootfs,
    ...(sources.length ? sources : ['http://deb.debian.org/debian']),
  ];
  say(`building the PostgreSQL ${PG_MAJOR} root filesystem with mmdebstrap (~3 min cold); log: ${logFile}`);
  await run('mmdebstrap', args, { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) }, logFile, label: 'building the PostgreSQL root filesystem (mmdebstrap)', say });
  // The runtime mounts its own /dev; device nodes made by mmdebstrap do not belong in a layer.
  for (const entry of fs.readdirSync(path.join(rootfs, 'dev'))) fs.rmSync(path.join(rootfs, 'dev', entry), { recursive: true, force: true });
  // apt leaves its partial/ folders owned by _apt or by root depending on timing: one owner, one layer digest.
  for (const d of ['var/cache/apt/archives/partial', 'var/lib/apt/lists/partial']) {
    if (fs.existsSync(path.join(rootfs, d))) fs.chownSync(path.join(rootfs, d), 0, 0);
  }
  const version = installedPostgresVersion(rootfs);
  const ref = `${POSTGRES_REPOSITORY}:${version}`;
  await packImage({
    rootfs,
    ref,
    config: { env: [PATH_ENV, 'LANG=C.UTF-8', `PGBIN=${PG_BIN}`], user: '26:26', workingDir: '/', cmd: ['postgres'] },
    workDir: path.join(tmp, 'oci'),
    outTar: path.join(tmp, 'image.tar'),
    logFile,
    epoch: EPOCH,
  });
  return { ref, version, rootfs: 'rootfs' };
}

async function buildOperator(tmp, { managerBin, logFile }) {
  const rootfs = path.join(tmp, 'rootfs');
  for (const d of ['operator', 'etc', 'licenses']) fs.mkdirSync(path.join(rootfs, d), { recursive: true, mode: 0o755 });
  fs.mkdirSync(path.join(rootfs, 'tmp'));
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  fs.copyFileSync(managerBin, path.join(rootfs, 'operator', 'manager_amd64'));
  fs.chmodSync(path.join(rootfs, 'operator', 'manager_amd64'), 0o755);
  fs.symlinkSync('operator/manager_amd64', path.join(rootfs, 'manager'));
  // The non-root user of CNPG's distroless base image, so `USER 65532` resolves to a name.
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  fs.writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\nnonroot:x:65532:\n');
  // CNPG's image ships its licence; ours takes it from the module the binary was built from (cnpg.mjs layout).
  const moduleInfo = path.join(path.dirname(path.dirname(managerBin)), 'module', 'module.json');
  const license = fs.existsSync(moduleInfo) && path.join(JSON.parse(fs.readFileSync(moduleInfo, 'utf8')).moduleDir, 'LICENSE');
  if (license && fs.existsSync(license)) fs.copyFileSync(license, path.join(rootfs, 'licenses', 'LICENSE'));
  await packImage({
    rootfs,
    ref: OPERATOR_REF,
    config: { user: '65532:65532', workingDir: '/', entrypoint: ['/manager'] },
    workDir: path.join(tmp, 'oci'),
    outTar: path.join(tmp, 'image.tar'),
    logFile,
    epoch: EPOCH,
  });
  fs.rmSync(rootfs, { recursive: true, force: true });
  return { ref: OPERATOR_REF };
}

async function buildPause(tmp, { logFile }) {
  const rootfs = path.join(tmp, 'rootfs');
  fs.mkdirSync(rootfs);
  await run('go', ['build', '-trimpath', '-ldflags', '-s -w -buildid=', '-o', path.join(rootfs, 'pause'), '.'], {
    cwd: PAUSE_SRC,
    env: { ...process.env, CGO_ENABLED: '0', GOWORK: 'off', GOFLAGS: '-mod=readonly -buildvcs=false' },
    logFile,
    label: 'building the pause program',
  });
  await packImage({
    rootfs,
    ref: PAUSE_REF,
    config: { user: '65535:65535', workingDir: '/', entrypoint: ['/pause'] },
    workDir: path.join(tmp, 'oci'),
    outTar: path.join(tmp, 'image.tar'),
    logFile,
    epoch: EPOCH,
  });
  fs.rmSync(rootfs, { recursive: true, force: true });
  return { ref: PAUSE_REF };
}

function requireTools() {
  if (process.getuid?.() !== 0) {
    throw new NodeBuildError(
      'building the real node\'s images needs root (mmdebstrap creates device nodes and files owned by uid 26, umoci keeps ownership); run as root, or run the tests with KMCP_REAL_NODE=0',
    );
  }
  const missing = ['mmdebstrap', 'umoci', 'go', 'tar'].filter((c) => !commandOutput('sh', ['-c', `command -v ${c}`]));
  if (missing.length) throw new NodeBuildError(`missing on PATH: ${missing.join(', ')} (Debian: apt-get install mmdebstrap umoci; Go 1.26+ from https://go.dev/dl/)`);
}

/**
 * Builds (or reuses) the three images. managerBin: the CNPG manager from ensureCnpg().
 * Returns {postgres: {ref, tar, version, rootfs}, operator: {ref, tar}, pause: {ref, tar}}.
 */
export async function ensureNodeImages({ managerBin, force = false } = {}) {
  if (!managerBin || !fs.existsSync(managerBin)) throw new NodeBuildError(`ensureNodeImages needs managerBin (the CNPG manager from ensureCnpg()), got ${managerBin}`);
  requireTools();
  const scripts = scriptsHash();
  const umoci = umociVersion();
  const sources = aptSources();
  const postgresKey = sha256(scripts, umoci, commandOutput('mmdebstrap', ['--version']) ?? '', DEBIAN_SUITE, PG_MAJOR, ...sources.map((f) => f + fs.readFileSync(f, 'utf8')));
  const operatorKey = sha256(scripts, umoci, CNPG_VERSION, fileHash(managerBin));
  const pauseSources = fs.readdirSync(PAUSE_SRC).sort().map((f) => f + fs.readFileSync(path.join(PAUSE_SRC, f), 'utf8'));
  const pauseKey = sha256(scripts, umoci, commandOutput('go', ['env', 'GOVERSION']) ?? '', ...pauseSources);

  const pause = await cachedImage('pause', pauseKey, (tmp, logFile) => buildPause(tmp, { logFile }), force);
  const operator = await cachedImage('operator', operatorKey, (tmp, logFile) => buildOperator(tmp, { managerBin, logFile }), force);
  const postgres = await cachedImage('postgres', postgresKey, (tmp, logFile) => buildPostgres(tmp, { sources, logFile }), force);
  const pick = ({ ref, tar, version, rootfs }) => ({ ref, tar, ...(version ? { version } : {}), ...(rootfs ? { rootfs } : {}) });
  return { postgres: pick(postgres), operator: pick(operator), pause: pick(pause) };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const force = process.argv.includes('--force');
  const { ensureCnpg } = await import('./cnpg.mjs');
  ensureCnpg()
    .then(({ managerBin }) => ensureNodeImages({ managerBin, force }))
    .then(
      (r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'),
      (e) => {
        process.stderr.write(`node-images: error: ${e instanceof NodeBuildError ? e.message : e.stack}\n`);
        process.exit(1);
      },
    );
}
