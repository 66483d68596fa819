// Moving from the Python reference: its Secret (kebab-case keys jwt-signing-key,
// storage-encryption-key, server-client-secret) mounted where it mounted it still starts kmcp,
// with one deprecation line per key in the log, and the whole sign-in works with those keys. As
// root, the Secret (a real one, read back from the API server) is written the way the kubelet
// mounts it, at the reference's own path /etc/mcp/secrets/auth0, inside a private mount namespace
// (an overlay on /etc that no other process sees).
import assert from 'node:assert/strict'
import {copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, test} from 'node:test'
import {parse, stringify} from 'yaml'
import {spawnSync} from 'node:child_process'
import {createNamespace, deleteNamespace, expectStatus, harness, kubeRequest} from '../support/kube.ts'
import {kmcpCommand, startHttpServer, type HttpServerProcess} from '../support/mcp.ts'
import {startIdentityProvider, type TestIdentityProvider} from '../support/oidc.ts'
import {freePort, startRedis, type TestRedis} from '../support/redis.ts'
import {initializeWith, obtainTokens, writeAuthConfig, type AuthFiles} from './helpers.ts'

let redis: TestRedis
let idp: TestIdentityProvider
let files: AuthFiles
let server: HttpServerProcess | undefined
let referenceDir: string
let publicUrl: string
const cleanups: Array<() => Promise<unknown>> = []

before(async () => {
  const port = await freePort()
  publicUrl = `http://127.0.0.1:${port}`
  redis = await startRedis()
  idp = await startIdentityProvider({kmcpCallbacks: [`${publicUrl}/auth/callback`]})
  files = writeAuthConfig({idp, publicUrl, redisUrl: redis.url})
  // The reference's layout: one directory, kebab-case file names; oidc.yaml names no secret file.
  referenceDir = join(files.dir, 'etc-mcp-secrets-auth0')
  mkdirSync(referenceDir)
  copyFileSync(join(files.dir, 'jwt_signing_key'), join(referenceDir, 'jwt-signing-key'))
  copyFileSync(join(files.dir, 'storage_encryption_key'), join(referenceDir, 'storage-encryption-key'))
  copyFileSync(join(files.dir, 'client_secret'), join(referenceDir, 'server-client-secret'))
  const config = parse(readFileSync(files.configPath, 'utf8')) as Record<string, unknown>
  for (const key of ['jwt_signing_key_file', 'storage_encryption_key_file', 'client_secret_file']) delete config[key]
  writeFileSync(files.configPath, stringify(config))
  server = await startHttpServer({kubeconfig: harness().kubeconfigPath, port, extraArgs: ['--oidc-config', files.configPath], env: {KMCP_REFERENCE_SECRETS_DIR: referenceDir}})
})

after(async () => {
  for (const cleanup of cleanups) await cleanup()
  await server?.stop()
  await idp?.close()
  await redis?.stop()
})

test("a reference-format Secret at the reference's mount path starts the server, with a deprecation line per key", async () => {
  const stderr = server!.stderr()
  for (const [key, name] of [['jwt_signing_key', 'jwt-signing-key'], ['storage_encryption_key', 'storage-encryption-key'], ['client_secret', 'server-client-secret']]) {
    assert.match(stderr, new RegExp(`deprecated: ${key} read from ${referenceDir.replace(/[.]/g, '\\.')}/${name}, the Python reference's Secret layout`), stderr)
  }
  for (const secret of files.secrets) assert.ok(!stderr.includes(secret), 'no secret value in the log')
  // The keys are really used: the sign-in (client secret upstream) and kmcp's tokens (signing key, storage) work.
  const tokens = await obtainTokens(publicUrl)
  assert.equal((await initializeWith(server!.url, `Bearer ${tokens.access_token}`)).status, 200)
})

test('without the reference mount, a missing key still stops start-up naming the setting', async () => {
  const port = await freePort()
  await assert.rejects(
    startHttpServer({kubeconfig: harness().kubeconfigPath, port, extraArgs: ['--oidc-config', files.configPath], env: {KMCP_REFERENCE_SECRETS_DIR: join(files.dir, 'nothing-here')}}),
    /missing the Auth0\s+(›\s+)?client secret/,
  )
})

/** Why the private-mount run cannot happen here, or undefined. */
function privateMountUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'a private mount namespace with an overlay on /etc needs root'
  const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true'], {encoding: 'utf8'})
  return probe.status === 0 ? undefined : `unshare --mount does not work here: ${probe.error?.message ?? probe.stderr.trim()}`
}

test("at the reference's own path /etc/mcp/secrets/auth0: a Secret with the reference's key names starts the server", async (t) => {
  const unavailable = privateMountUnavailable()
  if (unavailable) return t.skip(unavailable)
  const etcBefore = existsSync('/etc/mcp/secrets/auth0')
  const port = await freePort()
  const ownUrl = `http://127.0.0.1:${port}`
  const ownIdp = await startIdentityProvider({kmcpCallbacks: [`${ownUrl}/auth/callback`]})
  cleanups.push(() => ownIdp.close())
  // The same kind of config as above (no secret file named), for this server's URL and provider.
  const config = parse(readFileSync(files.configPath, 'utf8')) as Record<string, unknown>
  const configPath = join(files.dir, 'oidc-reference-path.yaml')
  writeFileSync(configPath, stringify({...config, public_url: ownUrl, issuer: ownIdp.issuer, client_id: ownIdp.clientId}))

  // A real Secret in the reference's format, read back from the API server as the kubelet would.
  const namespace = await createNamespace('reference-secret')
  cleanups.push(() => deleteNamespace(namespace))
  const values: Record<string, string> = {
    'jwt-signing-key': readFileSync(join(files.dir, 'jwt_signing_key'), 'utf8'),
    'storage-encryption-key': readFileSync(join(files.dir, 'storage_encryption_key'), 'utf8'),
    'server-client-secret': ownIdp.clientSecret,
  }
  const data = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value).toString('base64')]))
  expectStatus('create the reference Secret', await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/secrets`, {apiVersion: 'v1', kind: 'Secret', metadata: {name: 'mcp-auth0'}, type: 'Opaque', data}), 201)
  const stored = await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/secrets/mcp-auth0`)
  const staging = join(files.dir, 'secret-volume')
  mkdirSync(staging)
  for (const [key, value] of Object.entries(stored.body.data as Record<string, string>)) writeFileSync(join(staging, key), Buffer.from(value, 'base64'), {mode: 0o400})

  // /etc in the server's own mount namespace: the machine's /etc plus mcp/secrets/auth0.
  const mount = join(files.dir, 'etc-overlay')
  mkdirSync(mount)
  const script = [
    `mount -t tmpfs tmpfs ${mount}`,
    `mkdir -p ${mount}/upper/mcp/secrets ${mount}/work`,
    `cp -a ${staging} ${mount}/upper/mcp/secrets/auth0`,
    `mount -t overlay overlay -o lowerdir=/etc,upperdir=${mount}/upper,workdir=${mount}/work /etc`,
    'exec "$@"',
  ].join(' && ')
  const kmcp = kmcpCommand('serve', '--transport', 'http', '--host', '127.0.0.1', '--port', String(port), '--kubeconfig', harness().kubeconfigPath, '--oidc-config', configPath)
  const atReferencePath = await startHttpServer({kubeconfig: harness().kubeconfigPath, command: {command: 'unshare', args: ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', kmcp.command, ...kmcp.args]}})
  cleanups.push(() => atReferencePath.stop())
  const stderr = atReferencePath.stderr()
  for (const [key, name] of [['jwt_signing_key', 'jwt-signing-key'], ['storage_encryption_key', 'storage-encryption-key'], ['client_secret', 'server-client-secret']]) {
    assert.match(stderr, new RegExp(`deprecated: ${key} read from /etc/mcp/secrets/auth0/${name}, the Python reference's Secret layout`), stderr)
  }
  const tokens = await obtainTokens(ownUrl)
  assert.equal((await initializeWith(atReferencePath.url, `Bearer ${tokens.access_token}`)).status, 200)
  assert.equal(existsSync('/etc/mcp/secrets/auth0'), etcBefore, "the machine's own /etc is untouched")
})
