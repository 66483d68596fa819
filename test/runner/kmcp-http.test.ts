// `kmcp test` over Streamable HTTP against real `kmcp serve` processes: one on loopback with
// authentication off, and one with OAuth on (real OpenID provider, real redis-server), reached
// with --token, --token-file, --login (a fetch-based browser walks the printed URL) and
// --client-credentials. Tokens and secrets must never appear in the output.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {deleteNamespace, harness, kubeRequest} from '../support/kube.ts'
import {startHttpServer, type HttpServerProcess} from '../support/mcp.ts'
import type {TestIdentityProvider} from '../support/oidc.ts'
import {freePort} from '../support/redis.ts'
import {Browser, cnpgNamespace, obtainTokens, startAuthStack, type AuthStack} from '../auth/helpers.ts'
import {assertValidJunit, byPlugin, describeReport, jsonReport, junitCases, runKmcpTest, type CommandResult} from './helpers.ts'
import {startResetProxy} from './reset-proxy.ts'

let namespace: string
const scratch = mkdtempSync(join(tmpdir(), 'kmcp-test-http-'))

function assertNotPrinted(result: CommandResult, secret: string, what: string): void {
  assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), `${what} was printed`)
}

before(async () => {
  namespace = await cnpgNamespace('kmcp-test-http')
})

after(async () => {
  if (namespace) await deleteNamespace(namespace)
})

describe('kmcp test over HTTP, authentication off (loopback)', () => {
  let server: HttpServerProcess

  before(async () => {
    server = await startHttpServer({kubeconfig: harness().kubeconfigFor('admin')})
  })

  after(async () => {
    await server?.stop()
  })

  test('default suites pass over HTTP and the JUnit report is valid', async () => {
    const junit = join(scratch, 'http-open.xml')
    const result = await runKmcpTest(['--transport', 'http', '--url', server.url, '--namespace', namespace, '--json', '--junit', junit])
    const report = jsonReport(result)
    assert.equal(result.code, 0, describeReport(report))
    assert.equal(report.transport, 'http')
    assert.equal(report.target, server.url)
    assert.deepEqual([...new Set(report.tests.map((entry) => entry.suite))].sort(), ['cnpg', 'protocol', 'session'])
    assert.equal(byPlugin(report).get('cleanup')?.status, 'passed')
    assertValidJunit(junit)
    assert.equal(junitCases(junit).length, report.summary.total)
  })

  test('--token on a server without authentication: the auth suite reports that authentication is off', async () => {
    const token = 'kmcp-test-token-that-must-not-be-printed'
    const result = await runKmcpTest(['--url', server.url, '--token', token, '--suite', 'auth', '--only', 'ping', '--json'])
    const report = jsonReport(result)
    const tests = byPlugin(report)
    assert.equal(result.code, 1, describeReport(report))
    assert.equal(tests.get('token')?.status, 'passed')
    assert.equal(tests.get('ping')?.status, 'passed', 'the token is sent and the session works')
    assert.equal(tests.get('token_accepted')?.status, 'passed')
    assert.equal(tests.get('unauthenticated_challenge')?.status, 'failed')
    assert.match(tests.get('unauthenticated_challenge')!.message, /got HTTP 200 instead of 401: authentication looks switched off/)
    assert.equal(tests.get('bad_token_refused')?.status, 'failed')
    assert.equal(tests.get('protected_resource_metadata')?.status, 'failed')
    assert.equal(tests.get('authorization_server_metadata')?.status, 'skipped')
    assertNotPrinted(result, token, 'the token')
  })

  test('--token-file that is missing or empty: the token plugin fails, nothing connects, the report is written', async () => {
    const empty = join(scratch, 'empty-token')
    writeFileSync(empty, '\n')
    for (const [file, message] of [
      [join(scratch, 'no-such-token-file'), /cannot read --token-file .*no-such-token-file: ENOENT/],
      [empty, /--token-file .*empty-token is empty/],
    ] as const) {
      const junit = join(scratch, 'token-file.xml')
      const result = await runKmcpTest(['--url', server.url, '--token-file', file, '--suite', 'protocol', '--json', '--junit', junit])
      const report = jsonReport(result)
      assert.equal(result.code, 1)
      assert.equal(byPlugin(report).get('token')?.status, 'failed')
      assert.match(byPlugin(report).get('token')!.message, message)
      assert.match(byPlugin(report).get('connect')!.message, /^depends on "token", which failed/)
      assertValidJunit(junit)
    }
  })

  test('a connection reset before the answer: a read-only call is sent again and the run passes; no cancellation for answered requests', async () => {
    const proxy = await startResetProxy(server.url, (body) => body.includes('"name":"get_cluster_status"'))
    try {
      const result = await runKmcpTest(['--url', proxy.url, '--namespace', namespace, '--suite', 'cnpg', '--json'])
      const report = jsonReport(result)
      assert.equal(proxy.resets, 1, 'the proxy reset a get_cluster_status call')
      assert.equal(result.code, 0, describeReport(report))
      // Every plugin's signal is aborted when it ends; only requests still running may be cancelled.
      assert.equal(proxy.seen.get('notifications/cancelled'), undefined, JSON.stringify(Object.fromEntries(proxy.seen)))
    } finally {
      await proxy.close()
    }
  })

  test('a connection reset before the answer of a call that changes things: that plugin fails with the reason, the run goes on', async () => {
    const proxy = await startResetProxy(server.url, (body) => body.includes('"name":"create_postgres_role"'))
    try {
      const result = await runKmcpTest(['--url', proxy.url, '--namespace', namespace, '--suite', 'cnpg', '--json'])
      const report = jsonReport(result)
      const why = describeReport(report)
      assert.equal(proxy.resets, 1, 'the proxy reset the create_postgres_role call')
      assert.equal(result.code, 1, why)
      const createRole = byPlugin(report).get('create_role')!
      assert.equal(createRole.status, 'failed', why)
      assert.match(createRole.message, /the connection was reset before the server answered \(ECONNRESET\); the server still answers, but this request may change things, so it was not sent again/)
      assert.equal(report.summary.failed, 1, why)
      assert.doesNotMatch(why, /no MCP connection/)
      assert.equal(byPlugin(report).get('delete_cluster')?.status, 'passed', why)
      assert.equal(byPlugin(report).get('cleanup')?.status, 'passed', why)
    } finally {
      await proxy.close()
    }
  })

  test('a server killed mid-run: the next request fails with the cause and the rest is skipped', async () => {
    const victim = await startHttpServer({kubeconfig: harness().kubeconfigFor('admin')})
    const plugins = join(scratch, 'killer')
    mkdirSync(plugins, {recursive: true})
    writeFileSync(
      join(plugins, 'killer.js'),
      `export const plugins = [
  {name: 'kill_server', description: 'kills the server under test', needsConnection: false, dependsOn: ['connect'],
    test: async () => { process.kill(Number(process.env.VICTIM_PID), 'SIGKILL'); await new Promise((r) => setTimeout(r, 300)); return {passed: true, message: 'killed'} }},
  {name: 'first_after_kill', description: 'the first request after the kill', runAfter: ['kill_server'],
    test: async (session) => { await session.client.ping({signal: session.signal}); return {passed: true, message: 'pong'} }},
  {name: 'second_after_kill', description: 'anything later', runAfter: ['first_after_kill'],
    test: async () => ({passed: true, message: 'unreachable'})},
]
`,
    )
    const result = await runKmcpTest(['--url', victim.url, '--plugins', plugins, '--suite', 'killer', '--json'], {env: {VICTIM_PID: String(victim.process.pid)}})
    if (victim.process.exitCode === null && victim.process.signalCode === null) await victim.stop()
    const report = jsonReport(result)
    const why = describeReport(report)
    assert.equal(result.code, 1, why)
    assert.deepEqual(report.tests.map((entry) => `${entry.plugin}:${entry.status}`), ['connect:passed', 'kill_server:passed', 'first_after_kill:failed', 'second_after_kill:skipped'], why)
    // Either the open event stream noticed the reset first, or the ping's request failed.
    const first = byPlugin(report).get('first_after_kill')!
    assert.match(`${first.message}\n${first.error}`, /the server stopped answering \([A-Z_]+\)/, why)
    assert.match(byPlugin(report).get('second_after_kill')!.message, /^no MCP connection: the server stopped answering \([A-Z_]+\)$/)
  })

  test('a server gone after the cluster was created: the cleanup fails and names what is left behind', async () => {
    const victim = await startHttpServer({kubeconfig: harness().kubeconfigFor('admin')})
    const plugins = join(scratch, 'killer-after-create')
    mkdirSync(plugins, {recursive: true})
    writeFileSync(
      join(plugins, 'killer.js'),
      `export default {name: 'kill_after_create', group: 'cnpg', description: '', needsConnection: false, dependsOn: ['create_cluster'],
  test: async () => { process.kill(Number(process.env.VICTIM_PID), 'SIGKILL'); await new Promise((r) => setTimeout(r, 300)); return {passed: true, message: 'killed'} }}
`,
    )
    const result = await runKmcpTest(['--url', victim.url, '--namespace', namespace, '--plugins', plugins, '--only', 'kill_after_create', '--json'], {env: {VICTIM_PID: String(victim.process.pid)}})
    if (victim.process.exitCode === null && victim.process.signalCode === null) await victim.stop()
    const report = jsonReport(result)
    const why = describeReport(report)
    assert.equal(result.code, 1, why)
    assert.deepEqual(report.tests.map((entry) => `${entry.plugin}:${entry.status}`), ['connect:passed', 'create_cluster:passed', 'kill_after_create:passed', 'cleanup:failed'], why)
    const cleanup = byPlugin(report).get('cleanup')!
    assert.equal(cleanup.message, 'could not delete 1 object(s) this run created; delete them by hand')
    const name = /cluster (kmcp-test-[a-z]+)/.exec(cleanup.error ?? '')?.[1]
    assert.ok(name, why)
    const left = await kubeRequest('admin', 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${namespace}/clusters/${name}`)
    assert.equal(left.status, 200, 'the named cluster is really there')
    await kubeRequest('admin', 'DELETE', `/apis/postgresql.cnpg.io/v1/namespaces/${namespace}/clusters/${name}`)
  })
})

describe('kmcp test over HTTP, OAuth on', () => {
  let stack: AuthStack
  let idp: TestIdentityProvider
  let publicUrl: string
  let mcpUrl: string

  before(async () => {
    stack = await startAuthStack()
    ;({idp, publicUrl} = stack)
    mcpUrl = stack.replicas[0].url
  })

  after(async () => {
    await stack?.stop()
  })

  test('--token: every default suite and the auth suite pass, JUnit valid, the token never printed', async () => {
    const {access_token: token} = await obtainTokens(publicUrl)
    const junit = join(scratch, 'http-auth.xml')
    const result = await runKmcpTest(['--url', mcpUrl, '--token', token, '--namespace', namespace, '--json', '--junit', junit])
    const report = jsonReport(result)
    const why = describeReport(report)
    assert.equal(result.code, 0, why)
    assert.deepEqual([...new Set(report.tests.map((entry) => entry.suite))].sort(), ['auth', 'cnpg', 'protocol', 'session'])
    for (const name of ['unauthenticated_challenge', 'protected_resource_metadata', 'authorization_server_metadata', 'token_accepted', 'bad_token_refused', 'create_cluster', 'delete_cluster']) {
      assert.equal(byPlugin(report).get(name)?.status, 'passed', `${name}\n${why}`)
    }
    assert.match(byPlugin(report).get('bad_token_refused')!.message, /made-up token and a tampered copy of the token/)
    assertNotPrinted(result, token, 'the token')
    assertValidJunit(junit)
  })

  test('--token-file, auth suite only', async () => {
    const {access_token: token} = await obtainTokens(publicUrl)
    const file = join(scratch, 'token.txt')
    writeFileSync(file, `${token}\n`, {mode: 0o600})
    const result = await runKmcpTest(['--transport', 'http', '--url', mcpUrl, '--token-file', file, '--suite', 'auth', '--json'])
    const report = jsonReport(result)
    assert.equal(result.code, 0, describeReport(report))
    assert.equal(report.summary.failed, 0)
    assert.equal(byPlugin(report).get('token_accepted')?.status, 'passed')
    assertNotPrinted(result, token, 'the token')
  })

  test('no token: the auth suite checks the challenge and metadata; the protocol suite cannot connect', async () => {
    const result = await runKmcpTest(['--url', mcpUrl, '--suite', 'auth,protocol', '--json'])
    const report = jsonReport(result)
    const tests = byPlugin(report)
    const why = describeReport(report)
    assert.equal(result.code, 1, why)
    for (const name of ['unauthenticated_challenge', 'protected_resource_metadata', 'authorization_server_metadata', 'bad_token_refused']) assert.equal(tests.get(name)?.status, 'passed', `${name}\n${why}`)
    assert.match(tests.get('unauthenticated_challenge')!.message, new RegExp(`^401 with resource_metadata=${publicUrl}/\\.well-known/oauth-protected-resource`))
    assert.deepEqual([tests.get('token_accepted')?.status, tests.get('token_accepted')?.message], ['skipped', 'no token given (use --token, --token-file, --client-credentials or --login)'])
    assert.equal(tests.get('connect')?.status, 'failed')
    assert.match(tests.get('connect')!.message, /could not connect to the MCP server: .*401.*\(the server wants a token: use --token, --token-file, --client-credentials or --login\)/)
    assert.equal(tests.get('ping')?.status, 'skipped')
  })

  test('--login: the URL is printed, a browser signs in through the loopback redirect, the run passes', async () => {
    let announced: string | undefined
    let browserDone: Promise<void> | undefined
    const redirectPort = await freePort()
    const result = await runKmcpTest(['--url', mcpUrl, '--login', '--login-timeout', '60', '--redirect-port', String(redirectPort), '--scope', 'kmcp', '--suite', 'auth', '--only', 'ping', '--json'], {
      onStderr: (stderr) => {
        const match = /Open this URL in a browser to log in \(waiting up to 60 s\):\n(\S+)/.exec(stderr)
        if (!match || announced) return
        announced = match[1]
        const redirectUri = new URL(announced).searchParams.get('redirect_uri')!
        // The "browser": follows the sign-in, then delivers the answer to kmcp test's loopback listener.
        browserDone = new Browser().signIn(announced, redirectUri).then(async (callback) => {
          const response = await fetch(callback)
          assert.equal(response.status, 200, await response.text())
        })
      },
    })
    await browserDone
    const report = jsonReport(result)
    const why = describeReport(report)
    assert.ok(announced, `no login URL printed:\n${result.stderr}`)
    const authorize = new URL(announced)
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256')
    assert.equal(authorize.searchParams.get('redirect_uri'), `http://127.0.0.1:${redirectPort}/callback`)
    assert.equal(authorize.searchParams.get('scope'), 'kmcp')
    assert.equal(result.code, 0, why)
    assert.match(byPlugin(report).get('token')!.message, /obtained a token \(login\)/)
    assert.equal(byPlugin(report).get('token_accepted')?.status, 'passed', why)
    assert.equal(byPlugin(report).get('ping')?.status, 'passed', why)
    assert.doesNotMatch(result.stdout + result.stderr, /access_token|eyJ[A-Za-z0-9_-]{20,}\./, 'no token in the output')
  })

  test('--login without a browser: the deadline ends the login with the reason', async () => {
    const result = await runKmcpTest(['--url', mcpUrl, '--login', '--login-timeout', '1', '--suite', 'auth', '--json'])
    const report = jsonReport(result)
    assert.equal(result.code, 1)
    assert.match(byPlugin(report).get('token')!.message, /no browser login within 1 s \(raise the limit with --login-timeout\)/)
  })

  test('--client-credentials: discovered through the resource metadata; a refusal is reported without the secret', async () => {
    const secret = 'client-secret-that-must-not-be-printed'
    const result = await runKmcpTest(['--url', mcpUrl, '--client-credentials', '--client-id', 'kmcp-ci', '--suite', 'auth', '--json'], {env: {KMCP_TEST_CLIENT_SECRET: secret}})
    const report = jsonReport(result)
    assert.equal(result.code, 1)
    const token = byPlugin(report).get('token')!
    assert.equal(token.status, 'failed')
    assert.match(token.message, new RegExp(`the token endpoint ${publicUrl}/token refused the client credentials \\(`))
    assertNotPrinted(result, secret, 'the client secret')
    // --issuer points the grant at another authorization server (here the OpenID provider itself).
    const direct = await runKmcpTest(['--url', mcpUrl, '--client-credentials', '--client-id', idp.clientId, '--issuer', idp.issuer, '--suite', 'auth', '--json'], {env: {KMCP_TEST_CLIENT_SECRET: idp.clientSecret}})
    const directToken = byPlugin(jsonReport(direct)).get('token')!
    assert.match(directToken.message, new RegExp(`the token endpoint ${idp.issuer}/\\S+ refused the client credentials \\((unauthorized_client|invalid_grant|unsupported_grant_type)`))
    assertNotPrinted(direct, idp.clientSecret, 'the client secret')
  })
})
