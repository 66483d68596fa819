// Turns a root filesystem directory into a one-layer OCI image archive with umoci (Debian package),
// in the shape `ctr -n k8s.io images import` of containerd 1.6 accepts: a tar of the OCI layout
// (oci-layout, index.json, blobs/) whose index entry carries the full image name in the
// `io.containerd.image.name` annotation (kept by `--base-name <repository>`) and the tag in
// `org.opencontainers.image.ref.name`.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { NodeBuildError, run } from './cache.mjs';

/** Splits `localhost/postgresql:15.18` into {repository: 'localhost/postgresql', tag: '15.18'}. */
export function splitRef(ref) {
  const i = ref.lastIndexOf(':');
  if (i <= 0 || ref.indexOf('/', i) >= 0) throw new NodeBuildError(`image reference "${ref}" has no tag`);
  return { repository: ref.slice(0, i), tag: ref.slice(i + 1) };
}

export function umociVersion() {
  const res = spawnSync('umoci', ['--version'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) throw new NodeBuildError('umoci was not found on PATH: install the Debian package umoci (apt-get install umoci)');
  return res.stdout.trim();
}

/**
 * Packs `rootfs` (left in place afterwards) into `outTar` as the image `ref`.
 * config: {env?: string[], user?: string, entrypoint?: string[], cmd?: string[], workingDir?: string}.
 * epoch (seconds) fixes every timestamp umoci writes, so equal inputs give equal image metadata.
 */
export async function packImage({ rootfs, ref, config = {}, workDir, outTar, logFile, epoch }) {
  const { tag } = splitRef(ref);
  const layout = path.join(workDir, 'layout');
  const bundle = path.join(workDir, 'bundle');
  const image = `${layout}:${tag}`;
  const created = new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
  const umoci = (args, label) => run('umoci', args, { logFile, label: `umoci ${label} (${ref})` });

  // Files carry the time they were built: clamp every mtime to epoch so that the layer depends on
  // the files' contents only (equal inputs, equal digests).
  await run('find', [rootfs, '-newermt', `@${epoch}`, '-exec', 'touch', '--no-dereference', `--date=@${epoch}`, '{}', '+'], {
    logFile,
    label: `clamping timestamps (${ref})`,
  });
  await umoci(['init', '--layout', layout], 'init');
  await umoci(['new', '--image', image], 'new');
  await umoci(['unpack', '--image', image, bundle], 'unpack');
  // repack records the difference between the (empty) unpacked rootfs and what we put there: one layer
  // with everything. The rootfs is moved in and back out, not copied.
  const bundleRootfs = path.join(bundle, 'rootfs');
  fs.rmSync(bundleRootfs, { recursive: true, force: true });
  fs.renameSync(rootfs, bundleRootfs);
  try {
    await umoci(['repack', '--image', image, '--history.created', created, '--history.created_by', 'kmcp scripts/node/images.mjs', bundle], 'repack');
  } finally {
    fs.renameSync(bundleRootfs, rootfs);
  }
  const configArgs = ['--created', created, '--architecture', 'amd64', '--os', 'linux', '--no-history'];
  for (const e of config.env ?? []) configArgs.push('--config.env', e);
  if (config.user) configArgs.push('--config.user', config.user);
  if (config.workingDir) configArgs.push('--config.workingdir', config.workingDir);
  for (const e of config.entrypoint ?? []) configArgs.push('--config.entrypoint', e);
  for (const c of config.cmd ?? []) configArgs.push('--config.cmd', c);
  await umoci(['config', '--image', image, ...configArgs], 'config');
  await umoci(['gc', '--layout', layout], 'gc');

  const indexFile = path.join(layout, 'index.json');
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  const entries = (index.manifests ?? []).filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (entries.length !== 1) throw new NodeBuildError(`${indexFile}: expected one manifest tagged ${tag}, found ${entries.length}`);
  entries[0].annotations['io.containerd.image.name'] = ref;
  entries[0].platform = { architecture: 'amd64', os: 'linux' };
  index.manifests = entries;
  fs.writeFileSync(indexFile, JSON.stringify(index) + '\n');

  const tarArgs = ['--sort=name', `--mtime=@${epoch}`, '--owner=0', '--group=0', '--numeric-owner', '--mode=go+rX', '-cf', outTar, '-C', layout, 'oci-layout', 'index.json', 'blobs'];
  await run('tar', tarArgs, { logFile, label: `archiving ${ref}` });
  fs.rmSync(workDir, { recursive: true, force: true });
  return outTar;
}
