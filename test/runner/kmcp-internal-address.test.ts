// CI reaches kmcp at an address other than its public URL (a port-forward, which is what
// `--service` does, or a Service address): the public origin may not even resolve from there. The
// token flags then get their token from kmcp's own token endpoint at the address used, since
// kmcp is its own authorization server. Here public_url names a host that does not exist.
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'
import {harness} from '../support/kube.ts'
import {startHttpServer, type HttpServerProcess} from '../support/mcp.ts'
import {startIdentityProvider, type TestIdentityProvider} from '../support/oidc.ts'
import {startRedis, type TestRedis} from '../support/redis.ts'
import {writeAuthConfig} from '../auth/helpers.ts'
import {machineFixtures, type MachineFixtures} from '../auth/machine-helpers.ts'
import {byPlugin, describeReport, jsonReport, runKmcpTest} from './helpers.ts'

const PUBLIC_URL = 'https://kmcp.invalid'
let redis: TestRedis
let idp: TestIdentityProvider
let server: HttpServerProcess
let fixtures: MachineFixtures

before(async () => {
  redis = await startRedis()
  idp = await startIdentityProvider({kmcpCallbacks: [`${PUBLIC_URL}/auth/callback`]})
  fixtures = await machineFixtures({serviceAccountSubject: 'system:serviceaccount:none:none'})
  const files = writeAuthConfig({idp, publicUrl: PUBLIC_URL, redisUrl: redis.url, extra: fixtures.config})
  server = await startHttpServer({kubeconfig: harness().kubeconfigPath, extraArgs: ['--oidc-config', files.configPath]})
})

after(async () => {
  await server?.stop()
  await idp?.close()
  await redis?.stop()
})

test('--client-id against kmcp reached at a loopback address while its public URL does not resolve: the token comes from the address used', async () => {
  const result = await runKmcpTest(['--url', server.url, '--client-id', 'ci-basic', '--suite', 'protocol', '--json'], {env: {KMCP_TEST_CLIENT_SECRET: fixtures.basicSecret}})
  const report = jsonReport(result)
  assert.equal(result.code, 0, describeReport(report))
  assert.equal(byPlugin(report).get('token')?.message, 'obtained a token (client-credentials)')
  assert.equal(byPlugin(report).get('connect')?.status, 'passed')
})

test('an explicit --issuer is taken as given (and here cannot be reached)', async () => {
  const result = await runKmcpTest(['--url', server.url, '--client-id', 'ci-basic', '--issuer', PUBLIC_URL, '--suite', 'protocol', '--json'], {env: {KMCP_TEST_CLIENT_SECRET: fixtures.basicSecret}})
  assert.equal(result.code, 1)
  assert.match(byPlugin(jsonReport(result)).get('token')!.message, /cannot read the authorization server metadata of https:\/\/kmcp\.invalid/)
})
