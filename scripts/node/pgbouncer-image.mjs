#!/usr/bin/env node
// The PgBouncer image of the real node's Poolers, built locally like the PostgreSQL one (images.mjs):
//
//   localhost/pgbouncer:<1.x>   Debian trixie minbase + Debian's pgbouncer package (mmdebstrap),
//                               /usr/bin/pgbouncer, user pgbouncer = uid 998 / gid 996
//
// What CNPG v1.30.0 expects of it (pkg/specs/pgbouncer/deployments.go, internal/cmd/manager/pgbouncer/run):
// the pod runs as 998:996; an init container copies the operator's manager into /controller
// (an emptyDir), the pgbouncer container runs `/controller/manager pgbouncer run`, which writes the
// configuration under /controller/configs and starts `/usr/bin/pgbouncer <ini>`. The manager is
// static Go, so the image needs only PgBouncer itself. The operator is pointed at the image with
// its PGBOUNCER_IMAGE_NAME setting (runtime.mjs).
//
// Why trixie, not bookworm like PostgreSQL: CNPG writes `auth_dbname` into pgbouncer.ini, a setting
// PgBouncer has only since 1.19; bookworm's 1.18 refuses to load that file.
//
// Cached apart from the other node images (<kmcpCacheDir()>/pgbouncer-image/pgbouncer-<key>/) with
// a key of its own inputs (this script, the OCI packer, mmdebstrap, the Debian mirror), so that
// adding it did not change the keys, and so the cache, of the images images.mjs builds.
//
// CLI:    node scripts/node/pgbouncer-image.mjs [--force]   (prints JSON)
// Module: import { ensurePgbouncerImage } from './scripts/node/pgbouncer-image.mjs'

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kmcpCacheDir, NodeBuildError, publish, removeTree, reporter, run, withLock } from './cache.mjs';
import { packImage, umociVersion } from './oci.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PGBOUNCER_SUITE = 'trixie';
export const PGBOUNCER_REPOSITORY = 'localhost/pgbouncer';
// The uid/gid CNPG's Pooler pods run as (createPodSecurityContext(..., 998, 996)).
const PGBOUNCER_UID = 998;
const PGBOUNCER_GID = 996;
const EPOCH = 1704067200;
const DPKG_EXCLUDES = ['/usr/share/man/*', '/usr/share/doc/*', '/usr/share/info/*', '/usr/share/locale/*', '/usr/share/lintian/*'];

const say = reporter('pgbouncer-image');

export function pgbouncerCacheDir() {
  return path.join(kmcpCacheDir(), 'pgbouncer-image');
}

/** The Debian mirror the machine's apt uses (first deb.debian.org-like URI), or Debian's default. */
export function debianMirror() {
  const files = ['/etc/apt/sources.list'];
  try {
    for (const f of fs.readdirSync('/etc/apt/sources.list.d').sort()) if (f.endsWith('.list') || f.endsWith('.sources')) files.push(path.join('/etc/apt/sources.list.d', f));
  } catch {}
  for (const f of files) {
    let text;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (line.trim().startsWith('#')) continue;
      const uri = /(?:^URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)(\S+\/debian)\/?(?:\s|$)/.exec(line.trim())?.[1];
      if (uri) return uri;
    }
  }
  return 'http://deb.debian.org/debian';
}

function inputsKey(mirror) {
  const h = createHash('sha256');
  for (const f of ['pgbouncer-image.mjs', 'oci.mjs', 'cache.mjs']) h.update(fs.readFileSync(path.join(HERE, f))).update('\0');
  const mmdebstrap = spawnSync('mmdebstrap', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  for (const part of [umociVersion(), mmdebstrap, PGBOUNCER_SUITE, mirror]) h.update(part).update('\0');
  return h.digest('hex');
}

/** PgBouncer's version in a Debian rootfs, from dpkg's database (e.g. "1.24.1"). */
function installedPgbouncerVersion(rootfs) {
  const status = fs.readFileSync(path.join(rootfs, 'var', 'lib', 'dpkg', 'status'), 'utf8');
  const stanza = status.split('\n\n').find((s) => /^Package: pgbouncer$/m.test(s));
  const version = stanza && /^Version: (?:\d+:)?(\d+\.\d+(?:\.\d+)?)/m.exec(stanza)?.[1];
  if (!version) throw new NodeBuildError(`pgbouncer is not installed in ${rootfs}`);
  return version;
}

async function buildPgbouncer(tmp, { mirror, logFile }) {
  const rootfs = path.join(tmp, 'rootfs');
  // The user exists before the package's postinst runs, so that postinst keeps our uid/gid.
  const addUser = [
    `echo "pgbouncer:x:${PGBOUNCER_GID}:" >> "$1/etc/group"`,
    `echo "pgbouncer:x:${PGBOUNCER_UID}:${PGBOUNCER_GID}:PgBouncer:/controller:/usr/sbin/nologin" >> "$1/etc/passwd"`,
  ].join('; ');
  // CNPG runs /usr/bin/pgbouncer; Debian installs it in /usr/sbin. Debian's own config, logs and
  // service files are never used (CNPG writes its configuration to /controller/configs).
  const customize = [
    'ln -sf ../sbin/pgbouncer "$1/usr/bin/pgbouncer"',
    'rm -rf "$1"/var/log/* "$1"/var/cache/debconf/*-old "$1"/etc/ssl/private/ssl-cert-snakeoil.key "$1"/etc/ssl/certs/ssl-cert-snakeoil.pem',
    'find "$1/etc/ssl/certs" -lname ssl-cert-snakeoil.pem -delete',
  ].join('; ');
  const args = [
    '--variant=minbase',
    '--include=pgbouncer,ca-certificates',
    '--aptopt=APT::Install-Recommends "false"',
    '--dpkgopt=force-unsafe-io',
    ...DPKG_EXCLUDES.map((p) => `--dpkgopt=path-exclude=${p}`),
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    `--essential-hook=${addUser}`,
    `--customize-hook=${customize}`,
    PGBOUNCER_SUITE,
    rootfs,
    `deb ${mirror} ${PGBOUNCER_SUITE} main`,
  ];
  say(`building the PgBouncer root filesystem with mmdebstrap (~2 min cold); log: ${logFile}`);
  await run('mmdebstrap', args, { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) }, logFile, label: 'building the PgBouncer root filesystem (mmdebstrap)', say });
  for (const entry of fs.readdirSync(path.join(rootfs, 'dev'))) fs.rmSync(path.join(rootfs, 'dev', entry), { recursive: true, force: true });
  for (const d of ['var/cache/apt/archives/partial', 'var/lib/apt/lists/partial']) {
    if (fs.existsSync(path.join(rootfs, d))) fs.chownSync(path.join(rootfs, d), 0, 0);
  }
  const version = installedPgbouncerVersion(rootfs);
  const ref = `${PGBOUNCER_REPOSITORY}:${version}`;
  await packImage({
    rootfs,
    ref,
    config: { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8'], user: `${PGBOUNCER_UID}:${PGBOUNCER_GID}`, workingDir: '/', entrypoint: ['/usr/bin/pgbouncer'] },
    workDir: path.join(tmp, 'oci'),
    outTar: path.join(tmp, 'image.tar'),
    logFile,
    epoch: EPOCH,
  });
  fs.rmSync(rootfs, { recursive: true, force: true });
  return { ref, version };
}

/**
 * Builds (or reuses) the PgBouncer image: {ref, tar, version}. Needs root, mmdebstrap and umoci;
 * a build takes the lock of its key, so parallel runs build it once.
 * @param {{force?: boolean}} [options]
 */
export async function ensurePgbouncerImage({ force = false } = {}) {
  if (process.getuid?.() !== 0) throw new NodeBuildError('building the PgBouncer image needs root (mmdebstrap); run as root, or run the tests with KMCP_REAL_NODE=0');
  const mirror = debianMirror();
  const key = inputsKey(mirror);
  const base = pgbouncerCacheDir();
  const id = `pgbouncer-${key.slice(0, 16)}`;
  const dir = path.join(base, id);
  const manifest = path.join(dir, 'image.json');
  const load = () => ({ ...JSON.parse(fs.readFileSync(manifest, 'utf8')), tar: path.join(dir, 'image.tar') });
  if (!force && fs.existsSync(manifest)) return load();
  return withLock(
    base,
    id,
    async () => {
      if (!force && fs.existsSync(manifest)) return load();
      for (const f of fs.readdirSync(base)) if (f.startsWith(`.${id}-`)) removeTree(path.join(base, f));
      const tmp = path.join(base, `.${id}-${process.pid}`);
      fs.mkdirSync(tmp, { recursive: true });
      const logFile = path.join(base, 'logs', `${id}.log`);
      fs.rmSync(logFile, { force: true });
      try {
        const info = await buildPgbouncer(tmp, { mirror, logFile });
        fs.writeFileSync(path.join(tmp, 'image.json'), JSON.stringify({ ...info, key }, null, 2) + '\n');
        publish(tmp, dir);
      } finally {
        removeTree(tmp);
      }
      say(`PgBouncer image ready: ${dir}`);
      return load();
    },
    { say },
  );
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  ensurePgbouncerImage({ force: process.argv.includes('--force') }).then(
    (r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'),
    (e) => {
      process.stderr.write(`pgbouncer-image: error: ${e instanceof NodeBuildError ? e.message : e.stack}\n`);
      process.exit(1);
    },
  );
}
