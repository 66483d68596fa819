// Moving from the Python reference: its Secret (kebab-case keys jwt-signing-key,
// storage-encryption-key, server-client-secret) mounted where it mounted it still starts kmcp,
// with one deprecation line per key in the log, and the whole sign-in works with those keys.
import assert from 'node:assert/strict'
import {copyFileSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, test} from 'node:test'
import {parse, stringify} from 'yaml'
import {harness} from '../support/kube.ts'
import {startHttpServer, type HttpServerProcess} from '../support/mcp.ts'
import {startIdentityProvider, type TestIdentityProvider} from '../support/oidc.ts'
import {freePort, startRedis, type TestRedis} from '../support/redis.ts'
import {initializeWith, obtainTokens, writeAuthConfig, type AuthFiles} from './helpers.ts'

let redis: TestRedis
let idp: TestIdentityProvider
let files: AuthFiles
let server: HttpServerProcess | undefined
let referenceDir: string
let publicUrl: string

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
