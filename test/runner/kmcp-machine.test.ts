// `kmcp test` in CI against a server with OAuth on, without a stored token: a machine client
// (client credentials) and a Kubernetes service-account token from the real kube-apiserver
// (token exchange) each run the protocol and cnpg suites with a JUnit report; a refused ID token
// fails the token plugin with the reason. `kmcp login` keeps the refresh token in a 0600 file and
// `kmcp token` prints fresh tokens from it (or from any other source) for other tools.
import {spawn} from 'node:child_process'
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {deleteNamespace} from '../support/kube.ts'
import {kmcpCommand, REPO_ROOT} from '../support/mcp.ts'
import {freePort} from '../support/redis.ts'
import {Browser, cnpgNamespace, initializeWith, startAuthStack, type AuthStack} from '../auth/helpers.ts'
import {auditLinesOf, ciIdToken, createServiceAccount, machineFixtures, serviceAccountToken, type MachineFixtures} from '../auth/machine-helpers.ts'
import {assertValidJunit, byPlugin, describeReport, jsonReport, junitCases, runKmcpTest, type CommandResult} from './helpers.ts'

const scratch = mkdtempSync(join(tmpdir(), 'kmcp-test-machine-'))
let stack: AuthStack
let fixtures: MachineFixtures
let namespace: string
let mcpUrl: string

before(async () => {
  namespace = await cnpgNamespace('kmcp-test-machine')
  await createServiceAccount(namespace, 'kmcp-ci')
  fixtures = await machineFixtures({serviceAccountSubject: `system:serviceaccount:${namespace}:kmcp-ci`})
  stack = await startAuthStack({extraConfig: fixtures.config})
  mcpUrl = stack.replicas[0].url
})

after(async () => {
  await stack?.stop()
  if (namespace) await deleteNamespace(namespace)
})

function assertSuitesPassed(result: CommandResult, junit: string, tokenKind: string): void {
  const report = jsonReport(result)
  const why = describeReport(report)
  assert.equal(result.code, 0, why)
  assert.deepEqual([...new Set(report.tests.map((entry) => entry.suite))].sort(), ['cnpg', 'protocol', 'session'])
  assert.equal(byPlugin(report).get('token')?.message, `obtained a token (${tokenKind})`)
  for (const name of ['create_cluster', 'delete_cluster', 'cleanup']) assert.equal(byPlugin(report).get(name)?.status, 'passed', `${name}\n${why}`)
  assertValidJunit(junit)
  assert.equal(junitCases(junit).length, report.summary.total)
}

function auditLines(): Array<Record<string, unknown>> {
  return auditLinesOf(stack.replicas[0])
}

describe('kmcp test --junit with machine credentials', () => {
  test('--client-id/--client-secret: a machine client runs the protocol and cnpg suites; the audit lines name it', async () => {
    const junit = join(scratch, 'client-credentials.xml')
    const result = await runKmcpTest(['--url', mcpUrl, '--client-id', 'ci-basic', '--suite', 'protocol,cnpg', '--namespace', namespace, '--json', '--junit', junit], {env: {KMCP_TEST_CLIENT_SECRET: fixtures.basicSecret}, timeoutMs: 280_000})
    assertSuitesPassed(result, junit, 'client-credentials')
    assert.ok(!(result.stdout + result.stderr).includes(fixtures.basicSecret), 'the secret is not printed')
    const audit = auditLines().filter((a) => a.machine_client === 'ci-basic' && a.tool === 'create_postgres_cluster' && a.dry_run === false)
    assert.equal(audit.length, 1, JSON.stringify(auditLines()))
    assert.equal(audit[0].subject, 'ci-bot')
  })

  test('--id-token-file: a service-account token from the kube-apiserver is exchanged and the suites pass', async () => {
    const file = join(scratch, 'sa-token')
    writeFileSync(file, await serviceAccountToken(namespace, 'kmcp-ci', stack.publicUrl), {mode: 0o600})
    const junit = join(scratch, 'exchange.xml')
    const result = await runKmcpTest(['--url', mcpUrl, '--id-token-file', file, '--suite', 'protocol,cnpg', '--namespace', namespace, '--json', '--junit', junit], {timeoutMs: 280_000})
    assertSuitesPassed(result, junit, 'exchange')
    assert.ok(auditLines().some((a) => a.workload === `https://kubernetes.default.svc.cluster.local system:serviceaccount:${namespace}:kmcp-ci` && a.tool === 'create_postgres_cluster'))
  })

  test('--id-token-env as in the GitHub Actions example of docs/kmcp-test.md: a GitHub-shaped ID token for the public URL is exchanged and the suites pass', async () => {
    // The local CI platform signs what GitHub's token service would: repository, ref, audience = public URL.
    const idToken = await ciIdToken(fixtures.ciKey, {audience: stack.publicUrl, sub: 'repo:org/repo:ref:refs/heads/main', repository: 'org/repo', ref: 'refs/heads/main', workflow: 'kmcp end-to-end', event_name: 'push'})
    const junit = join(scratch, 'github-example.xml')
    const result = await runKmcpTest(['--url', mcpUrl, '--id-token-env', 'KMCP_ID_TOKEN', '--suite', 'protocol,cnpg', '--namespace', namespace, '--junit', junit, '--json'], {env: {KMCP_ID_TOKEN: idToken}, timeoutMs: 280_000})
    assertSuitesPassed(result, junit, 'exchange')
    assert.ok(auditLines().some((a) => a.workload === 'https://ci.example.test repo:org/repo:ref:refs/heads/main' && a.tool === 'create_postgres_cluster'))
  })

  test('--id-token-env with a token the server refuses: the token plugin fails with the reason, nothing connects', async () => {
    const expired = await ciIdToken(fixtures.ciKey, {audience: stack.publicUrl, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600})
    const result = await runKmcpTest(['--url', mcpUrl, '--id-token-env', 'CI_ID_TOKEN', '--suite', 'protocol', '--json'], {env: {CI_ID_TOKEN: expired}})
    const report = jsonReport(result)
    assert.equal(result.code, 1)
    assert.match(byPlugin(report).get('token')!.message, new RegExp(`the token endpoint ${stack.publicUrl}/token refused to exchange the ID token \\(invalid_request: the subject_token has expired`))
    assert.match(byPlugin(report).get('connect')!.message, /^depends on "token", which failed/)
    const unset = await runKmcpTest(['--url', mcpUrl, '--id-token-env', 'NOT_SET', '--suite', 'protocol', '--json'])
    assert.match(byPlugin(jsonReport(unset)).get('token')!.message, /--id-token-env: the environment variable NOT_SET is empty or not set/)
  })
})

/** Runs `kmcp ARGS` from the sources with a minimal environment. */
async function runKmcp(args: string[], env: Record<string, string>, onStderr?: (text: string) => void): Promise<CommandResult> {
  const command = kmcpCommand(...args)
  const child = spawn(command.command, command.args, {cwd: REPO_ROOT, env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', KMCP_LOG_LEVEL: 'warn', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
    onStderr?.(stderr)
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  clearTimeout(timer)
  return {code, stdout, stderr}
}

describe('kmcp login and kmcp token', () => {
  const configDir = join(scratch, 'config')
  const env = {KMCP_CONFIG_DIR: configDir}

  test('kmcp token prints a token from client credentials that the server accepts', async () => {
    const result = await runKmcp(['token', '--url', mcpUrl, '--client-id', 'ci-basic'], {...env, KMCP_TEST_CLIENT_SECRET: fixtures.basicSecret})
    assert.equal(result.code, 0, result.stderr)
    assert.equal((await initializeWith(mcpUrl, `Bearer ${result.stdout.trim()}`)).status, 200)
  })

  test('kmcp token without a saved login says to log in first', async () => {
    const result = await runKmcp(['token', '--url', mcpUrl], env)
    assert.equal(result.code, 1)
    // oclif wraps the message over lines prefixed with " ›".
    assert.match(result.stderr.replace(/\s*\n ›\s*/g, ' '), new RegExp(`no saved login for ${mcpUrl.replace(/[/.]/g, '\\$&')} that can be refreshed; log in first: kmcp login --url`))
  })

  test('kmcp login keeps the refresh token in a 0600 file; kmcp token refreshes from it without a browser', async () => {
    let browserDone: Promise<void> | undefined
    const redirectPort = await freePort()
    const login = await runKmcp(['login', '--url', mcpUrl, '--redirect-port', String(redirectPort), '--login-timeout', '60'], env, (stderr) => {
      const match = /Open this URL in a browser to log in \(waiting up to 60 s\):\n(\S+)/.exec(stderr)
      if (!match || browserDone) return
      const redirectUri = new URL(match[1]).searchParams.get('redirect_uri')!
      browserDone = new Browser().signIn(match[1], redirectUri).then(async (callback) => void (await fetch(callback)).text())
    })
    await browserDone
    assert.equal(login.code, 0, login.stderr)
    const first = login.stdout.trim()
    assert.equal((await initializeWith(mcpUrl, `Bearer ${first}`)).status, 200)
    const dir = join(configDir, 'logins')
    const [file] = (await import('node:fs')).readdirSync(dir)
    const path = join(dir, file)
    assert.equal(statSync(path).mode & 0o777, 0o600, 'the saved login is readable by its owner only')
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    const saved = JSON.parse(readFileSync(path, 'utf8')) as {tokens: {refresh_token: string; access_token: string}; expiresAt: number}
    assert.ok(saved.tokens.refresh_token, 'the refresh token is kept')
    // Still valid: kmcp token hands out the saved access token.
    const again = await runKmcp(['token', '--url', mcpUrl], env)
    assert.equal(again.stdout.trim(), first, again.stderr)
    // Expired: kmcp token refreshes (the refresh token rotates) without a browser.
    writeFileSync(path, JSON.stringify({...saved, expiresAt: Date.now() - 1000}))
    const refreshed = await runKmcp(['token', '--url', mcpUrl], env)
    assert.equal(refreshed.code, 0, refreshed.stderr)
    assert.notEqual(refreshed.stdout.trim(), first)
    assert.equal((await initializeWith(mcpUrl, `Bearer ${refreshed.stdout.trim()}`)).status, 200)
    const rotated = JSON.parse(readFileSync(path, 'utf8')) as {tokens: {refresh_token: string}}
    assert.notEqual(rotated.tokens.refresh_token, saved.tokens.refresh_token, 'the rotated refresh token was saved')
    assert.ok(!refreshed.stderr.includes('Open this URL'), 'no browser needed')
  })
})
