#!/usr/bin/env node
// The images that let kmcp's own Helm chart run FOR REAL on the real node (test/real-node/helm-real.test.ts):
//
//   localhost/kmcp:<binary hash>   Debian bookworm minbase + ca-certificates + the single executable
//                                  dist/kmcp as /usr/local/bin/kmcp (also on PATH as `kmcp`, the
//                                  chart's command), user 1000:1000 (the chart's runAsUser)
//   localhost/redis:<version>      Debian bookworm minbase + Debian's redis-server (/usr/bin/redis-server,
//                                  what the chart's `command: ["redis-server"]` finds on PATH); the
//                                  chart runs it as 999:999 with --dir /data, so Debian's own user and
//                                  paths are never used
//
// Cached apart from the other node images (<kmcpCacheDir()>/kmcp-image/): the bookworm base root
// filesystem (a tarball, keyed by this script, mmdebstrap and the mirror), the Redis image (same key),
// and one kmcp image per binary (key = base key + the binary's sha256). Only the test imports them,
// into the node's containerd, so the node's start-up does not pay for them.
//
// CLI:    node scripts/node/kmcp-image.mjs <path to dist/kmcp>   (prints JSON)
// Module: import { ensureKmcpImage, ensureRedisImage } from './scripts/node/kmcp-image.mjs'

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kmcpCacheDir, NodeBuildError, publish, removeTree, reporter, run, withLock } from './cache.mjs';
import { packImage, umociVersion } from './oci.mjs';
import { debianMirror } from './pgbouncer-image.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SUITE = 'bookworm';
const KMCP_UID = 1000;
const REDIS_UID = 999;
const EPOCH = 1704067200;
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DPKG_EXCLUDES = ['/usr/share/man/*', '/usr/share/doc/*', '/usr/share/info/*', '/usr/share/locale/*', '/usr/share/lintian/*'];

const say = reporter('kmcp-image');

export function kmcpImageCacheDir() {
  return path.join(kmcpCacheDir(), 'kmcp-image');
}

function baseKey(mirror) {
  const h = createHash('sha256');
  for (const f of ['kmcp-image.mjs', 'oci.mjs', 'cache.mjs']) h.update(fs.readFileSync(path.join(HERE, f))).update('\0');
  const mmdebstrap = spawnSync('mmdebstrap', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  for (const part of [umociVersion(), mmdebstrap, SUITE, mirror]) h.update(part).update('\0');
  return h.digest('hex');
}

function fileSha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function requireRoot() {
  if (process.getuid?.() !== 0) throw new NodeBuildError('building the kmcp and Redis images needs root (mmdebstrap); run as root');
}

/** Builds `dir` once under a lock: `build(tmp)` fills tmp, which is then published as dir. */
async function cached(id, build) {
  const base = kmcpImageCacheDir();
  fs.mkdirSync(base, { recursive: true });
  const dir = path.join(base, id);
  const manifest = path.join(dir, 'image.json');
  const load = () => ({ ...JSON.parse(fs.readFileSync(manifest, 'utf8')), tar: path.join(dir, 'image.tar') });
  if (fs.existsSync(manifest)) return load();
  return withLock(
    base,
    id,
    async () => {
      if (fs.existsSync(manifest)) return load();
      for (const f of fs.readdirSync(base)) if (f.startsWith(`.${id}-`)) removeTree(path.join(base, f));
      const tmp = path.join(base, `.${id}-${process.pid}`);
      fs.mkdirSync(tmp, { recursive: true });
      const logFile = path.join(base, 'logs', `${id}.log`);
      fs.mkdirSync(path.dirname(logFile), { recursive: true });
      fs.rmSync(logFile, { force: true });
      try {
        const info = await build(tmp, logFile);
        fs.writeFileSync(path.join(tmp, 'image.json'), JSON.stringify(info, null, 2) + '\n');
        publish(tmp, dir);
      } finally {
        removeTree(tmp);
      }
      say(`ready: ${dir}`);
      return load();
    },
    { say },
  );
}

/** mmdebstrap of bookworm minbase with `packages` into the directory `rootfs`. */
async function debootstrap(rootfs, packages, { mirror, logFile, hooks = [] }) {
  const args = [
    '--variant=minbase',
    `--include=${packages.join(',')}`,
    '--aptopt=APT::Install-Recommends "false"',
    '--dpkgopt=force-unsafe-io',
    ...DPKG_EXCLUDES.map((p) => `--dpkgopt=path-exclude=${p}`),
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    ...hooks,
    '--customize-hook=rm -rf "$1"/var/log/* "$1"/var/cache/debconf/*-old "$1"/var/lib/apt/lists/*',
    SUITE,
    rootfs,
    `deb ${mirror} ${SUITE} main`,
  ];
  say(`building a ${SUITE} root filesystem with ${packages.join(', ')} (mmdebstrap, ~2 min cold); log: ${logFile}`);
  await run('mmdebstrap', args, { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) }, logFile, label: `mmdebstrap ${packages.join(',')}`, say });
  for (const entry of fs.readdirSync(path.join(rootfs, 'dev'))) fs.rmSync(path.join(rootfs, 'dev', entry), { recursive: true, force: true });
  for (const d of ['var/cache/apt/archives/partial', 'var/lib/apt/lists/partial']) {
    if (fs.existsSync(path.join(rootfs, d))) fs.chownSync(path.join(rootfs, d), 0, 0);
  }
}

function installedVersion(rootfs, pkg) {
  const status = fs.readFileSync(path.join(rootfs, 'var', 'lib', 'dpkg', 'status'), 'utf8');
  const stanza = status.split('\n\n').find((s) => new RegExp(`^Package: ${pkg}$`, 'm').test(s));
  const version = stanza && /^Version: (?:\d+:)?(\d+\.\d+(?:\.\d+)?)/m.exec(stanza)?.[1];
  if (!version) throw new NodeBuildError(`${pkg} is not installed in ${rootfs}`);
  return version;
}

/** The bookworm base of the kmcp image, as a tarball of its root filesystem: {tar, key}. */
async function ensureBase(mirror) {
  const key = baseKey(mirror);
  const info = await cached(`base-${key.slice(0, 16)}`, async (tmp, logFile) => {
    const rootfs = path.join(tmp, 'rootfs');
    const addUser = [`echo "kmcp:x:${KMCP_UID}:" >> "$1/etc/group"`, `echo "kmcp:x:${KMCP_UID}:${KMCP_UID}:kmcp:/tmp:/usr/sbin/nologin" >> "$1/etc/passwd"`].join('; ');
    await debootstrap(rootfs, ['ca-certificates'], { mirror, logFile, hooks: [`--essential-hook=${addUser}`] });
    await run('tar', ['--numeric-owner', '-cf', path.join(tmp, 'image.tar'), '-C', rootfs, '.'], { logFile, label: 'archiving the base root filesystem' });
    fs.rmSync(rootfs, { recursive: true, force: true });
    return { ref: 'base', key };
  });
  return { tar: info.tar, key };
}

/**
 * The kmcp image of this `binary` (dist/kmcp): {ref, tar}. The tag is the binary's hash, so a
 * rebuilt binary gets a new image and an old pod never runs new code by surprise.
 */
export async function ensureKmcpImage(binary) {
  requireRoot();
  if (!fs.existsSync(binary)) throw new NodeBuildError(`no kmcp executable at ${binary}: build it with "npm run build:binary"`);
  const mirror = debianMirror();
  const base = await ensureBase(mirror);
  const binaryHash = fileSha256(binary);
  const ref = `localhost/kmcp:${binaryHash.slice(0, 16)}`;
  const key = createHash('sha256').update(base.key).update('\0').update(binaryHash).digest('hex');
  pruneOldKmcpImages(`kmcp-${key.slice(0, 16)}`);
  return cached(`kmcp-${key.slice(0, 16)}`, async (tmp, logFile) => {
    const rootfs = path.join(tmp, 'rootfs');
    fs.mkdirSync(rootfs);
    await run('tar', ['--numeric-owner', '-xf', base.tar, '-C', rootfs], { logFile, label: 'unpacking the base root filesystem' });
    const target = path.join(rootfs, 'usr', 'local', 'bin', 'kmcp');
    fs.copyFileSync(binary, target);
    fs.chmodSync(target, 0o755);
    await packImage({
      rootfs,
      ref,
      config: { env: [PATH_ENV, 'LANG=C.UTF-8'], user: `${KMCP_UID}:${KMCP_UID}`, workingDir: '/tmp', entrypoint: ['/usr/local/bin/kmcp'] },
      workDir: path.join(tmp, 'oci'),
      outTar: path.join(tmp, 'image.tar'),
      logFile,
      epoch: EPOCH,
    });
    fs.rmSync(rootfs, { recursive: true, force: true });
    return { ref, binarySha256: binaryHash, key };
  });
}

/**
 * Every rebuilt binary makes a new ~100 MB kmcp image: keep the few most recently used ones
 * (other worktrees on this machine may be using theirs) and drop those unused for an hour.
 */
function pruneOldKmcpImages(current, keep = 3) {
  const base = kmcpImageCacheDir();
  if (!fs.existsSync(base)) return;
  const hourAgo = Date.now() - 60 * 60 * 1000;
  // Marks the image in use now, so that its age counts from its last use, not its build.
  const now = new Date();
  if (fs.existsSync(path.join(base, current))) fs.utimesSync(path.join(base, current), now, now);
  const images = fs
    .readdirSync(base)
    .filter((f) => f.startsWith('kmcp-') && f !== current)
    .map((f) => ({ dir: path.join(base, f), mtime: fs.statSync(path.join(base, f)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const image of images.slice(keep)) if (image.mtime < hourAgo) removeTree(image.dir);
}

/** Debian bookworm's redis-server as an image: {ref, tar, version}. */
export async function ensureRedisImage() {
  requireRoot();
  const mirror = debianMirror();
  const key = baseKey(mirror);
  return cached(`redis-${key.slice(0, 16)}`, async (tmp, logFile) => {
    const rootfs = path.join(tmp, 'rootfs');
    await debootstrap(rootfs, ['redis-server'], { mirror, logFile });
    const version = installedVersion(rootfs, 'redis-server');
    const ref = `localhost/redis:${version}`;
    await packImage({
      rootfs,
      ref,
      config: { env: [PATH_ENV, 'LANG=C.UTF-8'], user: `${REDIS_UID}:${REDIS_UID}`, workingDir: '/data', entrypoint: ['/usr/bin/redis-server'] },
      workDir: path.join(tmp, 'oci'),
      outTar: path.join(tmp, 'image.tar'),
      logFile,
      epoch: EPOCH,
    });
    fs.rmSync(rootfs, { recursive: true, force: true });
    return { ref, version, key };
  });
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const binary = process.argv[2] ?? path.join(HERE, '..', '..', 'dist', 'kmcp');
  Promise.all([ensureKmcpImage(binary), ensureRedisImage()]).then(
    ([kmcp, redis]) => process.stdout.write(JSON.stringify({ kmcp, redis }, null, 2) + '\n'),
    (e) => {
      process.stderr.write(`kmcp-image: error: ${e instanceof NodeBuildError ? e.message : e.stack}\n`);
      process.exit(1);
    },
  );
}
