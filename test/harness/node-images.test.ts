// The real node's images (scripts/node/images.mjs): the PostgreSQL image has the uid CNPG runs as and
// a working initdb on its PATH, and all three archives import into containerd 1.6 under their names.
// Building needs root (and a cold build ~12 min: CNPG manager + Debian rootfs); otherwise skipped.
import assert from 'node:assert/strict'
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {before, describe, test} from 'node:test'
import {ensureCnpg} from '../../scripts/node/cnpg.mjs'
import {ensureNodeImages} from '../../scripts/node/images.mjs'
import {REPO_ROOT} from '../support/global-setup.ts'

const BUILD_TIMEOUT_MS = 40 * 60_000
const isRoot = process.getuid?.() === 0
const missingTools = ['containerd', 'ctr', 'mmdebstrap', 'umoci', 'go'].filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0)
const skipReason = !isRoot
  ? 'building and importing the node images needs root (mmdebstrap, containerd)'
  : missingTools.length
    ? `missing on PATH: ${missingTools.join(', ')}`
    : undefined

type Images = Awaited<ReturnType<typeof ensureNodeImages>>

/** Reads one member of an uncompressed tar. */
function tarMember(tar: string, member: string): Buffer {
  const res = spawnSync('tar', ['-xOf', tar, member], {maxBuffer: 64 << 20})
  assert.equal(res.status, 0, `tar -xOf ${tar} ${member}: ${res.stderr}`)
  return res.stdout
}

/** The image config (OCI) of the single image in an archive written by scripts/node/oci.mjs. */
function imageConfig(tar: string): any {
  const index = JSON.parse(tarMember(tar, 'index.json').toString())
  const blob = (d: string) => JSON.parse(tarMember(tar, `blobs/sha256/${d.replace('sha256:', '')}`).toString())
  return blob(blob(index.manifests[0].digest).config.digest)
}

/** containerd 1.6 with everything (root, state, sockets, opt) in a temporary directory, CRI off. */
async function startThrowawayContainerd(): Promise<{dir: string; address: string; ctr(...args: string[]): {code: number | null; out: string}; stop(): Promise<void>}> {
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-ctrd-'))
  const address = join(dir, 'c.sock')
  const config = join(dir, 'config.toml')
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${dir}/c.ttrpc.sock"`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${dir}/opt"`,
      '',
    ].join('\n'),
  )
  const child: ChildProcess = spawn('containerd', ['--config', config], {stdio: ['ignore', 'ignore', 'pipe']})
  let log = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d))
  const exited = new Promise<void>((res) => child.once('exit', () => res()))
  const ctr = (...args: string[]) => {
    const res = spawnSync('ctr', ['--address', address, '-n', 'k8s.io', ...args], {encoding: 'utf8'})
    return {code: res.status, out: `${res.stdout}${res.stderr}`}
  }
  const deadline = Date.now() + 30_000
  while (!(existsSync(address) && ctr('version').code === 0)) {
    if (child.exitCode !== null) throw new Error(`containerd exited: ${log.slice(-2000)}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`containerd did not answer within 30s: ${log.slice(-2000)}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    dir,
    address,
    ctr,
    async stop() {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
      // Unpacking mounts nothing that outlives it, but never leave a mount behind in the temp dir.
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[4])
        .filter((m) => m?.startsWith(dir))
      for (const m of mounts.reverse()) spawnSync('umount', ['-l', m])
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

describe('the real node images', () => {
  let images: Images
  let managerBin = ''

  before(
    async () => {
      if (skipReason) return
      managerBin = (await ensureCnpg()).managerBin
      images = await ensureNodeImages({managerBin})
    },
    {timeout: BUILD_TIMEOUT_MS},
  )

  test('the PostgreSQL root filesystem has postgres as uid/gid 26 and initdb 15.x on the image PATH', (t) => {
    if (skipReason) return t.skip(skipReason)
    const {rootfs, version, ref, tar} = images.postgres as Images['postgres'] & {rootfs: string}
    assert.match(version, /^15\.\d+$/)
    assert.equal(ref, `localhost/postgresql:${version}`)
    assert.match(readFileSync(join(rootfs, 'etc/passwd'), 'utf8'), /^postgres:x:26:26:/m)
    const groups = readFileSync(join(rootfs, 'etc/group'), 'utf8')
    assert.match(groups, /^postgres:x:26:/m)
    assert.equal(groups.match(/^[^:]+:x:26:/gm)?.length, 1, 'gid 26 belongs to postgres only')
    const config = imageConfig(tar)
    assert.equal(config.config.User, '26:26')
    const path = config.config.Env.find((e: string) => e.startsWith('PATH='))
    assert.match(path, /^PATH=\/usr\/lib\/postgresql\/15\/bin:/)
    // initdb found through the image's PATH, run as the postgres user, inside the root filesystem.
    const res = spawnSync('chroot', ['--userspec=26:26', rootfs, 'initdb', '--version'], {encoding: 'utf8', env: {PATH: path.slice(5)}})
    assert.equal(res.status, 0, res.stderr)
    assert.match(res.stdout, new RegExp(`^initdb \\(PostgreSQL\\) ${version.replace('.', '\\.')}\\b`))
  })

  test('the operator image carries the manager at /manager and operator/manager_amd64', (t) => {
    if (skipReason) return t.skip(skipReason)
    const config = imageConfig(images.operator.tar)
    assert.deepEqual(config.config.Entrypoint, ['/manager'])
    assert.equal(images.operator.ref, 'localhost/cnpg-operator:v1.30.0')
    const layer = imageLayerListing(images.operator.tar)
    assert.match(layer, /^l\S+ .* (\.\/)?manager -> operator\/manager_amd64$/m)
    assert.match(layer, new RegExp(`^-rwxr-xr-x .* ${statSync(managerBin).size} .* (\\./)?operator/manager_amd64$`, 'm'))
  })

  test('a second call reuses the cached images', {timeout: 120_000}, async (t) => {
    if (skipReason) return t.skip(skipReason)
    const before = Object.values(images).map((i) => statSync(i.tar).mtimeMs)
    const again = await ensureNodeImages({managerBin})
    assert.deepEqual(again, images)
    assert.deepEqual(Object.values(again).map((i) => statSync(i.tar).mtimeMs), before, 'no archive was rewritten')
  })

  test('the three archives import into containerd 1.6 under their names', {timeout: 240_000}, async (t) => {
    if (skipReason) return t.skip(skipReason)
    const containerd = await startThrowawayContainerd()
    try {
      for (const image of Object.values(images)) {
        const repository = image.ref.slice(0, image.ref.lastIndexOf(':'))
        const res = containerd.ctr('images', 'import', '--base-name', repository, image.tar)
        assert.equal(res.code, 0, `import ${image.tar}: ${res.out}`)
      }
      const listed = containerd.ctr('images', 'ls', '-q')
      assert.equal(listed.code, 0, listed.out)
      assert.deepEqual(listed.out.trim().split('\n').sort(), Object.values(images).map((i) => i.ref).sort())
      const check = containerd.ctr('images', 'check')
      assert.doesNotMatch(check.out, /incomplete|missing/, check.out)
    } finally {
      await containerd.stop()
    }
    assert.equal(existsSync(containerd.dir), false)
  })

  test('without root the build refuses with a clear error', (t) => {
    if (!isRoot) return t.skip('needs root to drop to an unprivileged user for this check')
    const script = `import(${JSON.stringify(join(REPO_ROOT, 'scripts/node/images.mjs'))}).then((m) => m.ensureNodeImages({managerBin: '/bin/sh'})).then(() => process.exit(0), (e) => { process.stderr.write(e.message); process.exit(3) })`
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {uid: 65534, gid: 65534, encoding: 'utf8', env: {...process.env, HOME: '/nonexistent'}})
    assert.equal(res.status, 3, res.stderr)
    assert.match(res.stderr, /needs root/)
  })
})

/** `tar -tv` of the single layer of an image archive. */
function imageLayerListing(tar: string): string {
  const index = JSON.parse(tarMember(tar, 'index.json').toString())
  const manifest = JSON.parse(tarMember(tar, `blobs/sha256/${index.manifests[0].digest.replace('sha256:', '')}`).toString())
  const layer = tarMember(tar, `blobs/sha256/${manifest.layers[0].digest.replace('sha256:', '')}`)
  const res = spawnSync('tar', ['-tvzf', '-'], {input: layer, encoding: 'utf8', maxBuffer: 64 << 20})
  assert.equal(res.status, 0, res.stderr)
  return res.stdout
}

