// `kmcp setup auth0` against a loopback double of the Auth0 Management API (auth0-double.ts),
// run as a real process: non-interactively, through its prompts in a pseudo-terminal, with a
// connection dropped midway and re-run, and with bad input.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import YAML from 'yaml'
import {ALL_SCOPES, startAuth0Double, type Auth0Double} from './auth0-double.ts'
import {run, runInTerminal} from './run.ts'
import {harness, createNamespace, kubeRequest} from '../support/kube.ts'
import {freePort} from '../support/redis.ts'

const PUBLIC_URL = 'https://kmcp.example.com'
const AUDIENCE = `${PUBLIC_URL}/mcp`

function workdir(): string {
  return mkdtempSync(join(tmpdir(), 'kmcp-setup-auth0-'))
}

function env(double: Auth0Double, extra: Record<string, string> = {}): Record<string, string> {
  return {NODE_EXTRA_CA_CERTS: double.caFile, ...extra}
}

function credentialArgs(double: Auth0Double): string[] {
  return ['--domain', double.domain, '--mgmt-client-id', double.m2m.clientId, '--mgmt-client-secret', double.m2m.clientSecret]
}

describe('kmcp setup auth0', () => {
  let double: Auth0Double

  before(async () => {
    double = await startAuth0Double()
  })
  after(async () => {
    await double?.close()
  })

  test('non-interactive: creates the API, the server application and its grant, writes oidc.yaml and Helm values; a re-run changes nothing', async () => {
    const cwd = workdir()
    const first = await run(['setup', 'auth0', ...credentialArgs(double), '--public-url', PUBLIC_URL, '--yes', '--no-test-client', '--no-enable-dcr', '--no-create-secret'], {env: env(double), cwd})
    assert.equal(first.code, 0, first.stderr)

    assert.equal(double.resourceServers.length, 1)
    const api = double.resourceServers[0]
    assert.equal(api.identifier, AUDIENCE)
    assert.deepEqual(api.scopes.map((s: {value: string}) => s.value).sort(), ['mcp:read', 'mcp:write'])
    assert.equal(api.allow_offline_access, true)
    assert.equal(api.signing_alg, 'RS256')

    assert.equal(double.clients.length, 1)
    const server = double.clients[0]
    assert.equal(server.name, 'kmcp server')
    assert.equal(server.app_type, 'regular_web')
    assert.equal(server.token_endpoint_auth_method, 'client_secret_post')
    assert.deepEqual(server.callbacks, [`${PUBLIC_URL}/auth/callback`])
    assert.deepEqual([...server.grant_types].sort(), ['authorization_code', 'refresh_token'])

    assert.equal(double.grants.length, 1)
    assert.equal(double.grants[0].client_id, server.client_id)
    assert.equal(double.grants[0].audience, AUDIENCE)

    const oidc = YAML.parse(readFileSync(join(cwd, 'oidc.yaml'), 'utf8'))
    assert.equal(oidc.auth_type, 'auth0')
    assert.equal(oidc.issuer, `https://${double.domain}/`)
    assert.equal(oidc.audience, AUDIENCE)
    assert.equal(oidc.client_id, server.client_id)
    assert.equal(oidc.public_url, PUBLIC_URL)
    assert.equal(oidc.client_secret_file, join(cwd, '.kmcp-secrets', 'client_secret'))
    assert.equal(readFileSync(oidc.client_secret_file, 'utf8'), server.client_secret)
    assert.equal(statSync(oidc.client_secret_file).mode & 0o777, 0o600)

    const values = YAML.parse(readFileSync(join(cwd, 'kmcp-values.yaml'), 'utf8'))
    assert.equal(values.oidc.clientId, server.client_id)
    assert.equal(values.oidc.credentialsSecretName, 'kmcp-oidc-client')
    assert.equal(values.jwt.secretName, 'kmcp-keys')
    assert.equal(values.ingress.host, 'kmcp.example.com')

    assert.ok(!first.stdout.includes(server.client_secret) && !first.stderr.includes(server.client_secret), 'the client secret is never printed')
    assert.ok(!first.stdout.includes(double.m2m.clientSecret) && !first.stderr.includes(double.m2m.clientSecret), 'the management secret is never printed')

    const writesBefore = double.writes().length
    const second = await run(['setup', 'auth0', ...credentialArgs(double), '--public-url', PUBLIC_URL, '--yes', '--no-test-client', '--no-enable-dcr', '--no-create-secret'], {env: env(double), cwd})
    assert.equal(second.code, 0, second.stderr)
    assert.match(second.stdout, /Nothing to change/)
    assert.equal(double.writes().length, writesBefore, 'the second run sent no POST/PATCH')
    assert.equal(double.clients.length, 1)
    assert.equal(double.resourceServers.length, 1)
  })

  test('re-running repairs what drifted (a removed scope, a changed callback) instead of duplicating', async () => {
    const cwd = workdir()
    const args = ['setup', 'auth0', ...credentialArgs(double), '--public-url', 'https://drift.example.com', '--name', 'drift', '--yes', '--no-test-client', '--no-enable-dcr', '--no-create-secret']
    assert.equal((await run(args, {env: env(double), cwd})).code, 0)
    const api = double.resourceServers.find((r) => r.identifier === 'https://drift.example.com/mcp')!
    api.scopes = api.scopes.filter((scope: {value: string}) => scope.value !== 'mcp:write')
    const server = double.clients.find((c) => c.name === 'drift server')!
    server.callbacks = ['https://old.example.com/auth/callback']
    const grant = double.grants.find((g) => g.client_id === server.client_id)!
    grant.scope = ['mcp:read']

    const repaired = await run(args, {env: env(double), cwd})
    assert.equal(repaired.code, 0, repaired.stderr)
    assert.match(repaired.stdout, /updated\s+Auth0 API\s+https:\/\/drift\.example\.com\/mcp\s+added scopes mcp:write/)
    assert.match(repaired.stdout, /updated\s+Auth0 application\s+drift server\s+callback URLs/)
    assert.match(repaired.stdout, /updated\s+Auth0 client grant/)
    assert.deepEqual(api.scopes.map((scope: {value: string}) => scope.value).sort(), ['mcp:read', 'mcp:write'])
    assert.deepEqual(server.callbacks, ['https://old.example.com/auth/callback', 'https://drift.example.com/auth/callback'], 'existing callbacks are kept')
    assert.deepEqual([...grant.scope].sort(), ['mcp:read', 'mcp:write'])
    assert.equal(double.clients.filter((c) => c.name === 'drift server').length, 1)
  })

  test('the double rejects what Auth0 rejects: unknown field 400, missing scope 403, existing object 409', async () => {
    const caFetch = async (path: string, token: string, body: unknown) => {
      const {Agent, request} = await import('undici')
      const response = await request(`https://${double.domain}${path}`, {
        method: 'POST', body: JSON.stringify(body), headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
        dispatcher: new Agent({connect: {ca: readFileSync(double.caFile)}}),
      })
      return {status: response.statusCode, body: (await response.body.json()) as {message: string; errorCode: string}}
    }
    const all = double.token(ALL_SCOPES)
    const unknownField = await caFetch('/api/v2/resource-servers', all, {identifier: 'https://x.example.com', colour: 'blue'})
    assert.equal(unknownField.status, 400)
    assert.match(unknownField.body.message, /Additional properties not allowed: colour/)
    const wrongType = await caFetch('/api/v2/clients', all, {name: 'x', callbacks: 'https://x'})
    assert.equal(wrongType.status, 400)
    const noScope = await caFetch('/api/v2/clients', double.token(['read:clients']), {name: 'x'})
    assert.equal(noScope.status, 403)
    assert.equal(noScope.body.errorCode, 'insufficient_scope')
    assert.equal((await caFetch('/api/v2/resource-servers', all, {name: 'dup', identifier: 'https://dup.example.com'})).status, 201)
    const duplicate = await caFetch('/api/v2/resource-servers', all, {name: 'dup', identifier: 'https://dup.example.com'})
    assert.equal(duplicate.status, 409)
  })

  test('--json with a test client, DCR and a promoted connection; --show-secrets is the only way to see the secret', async () => {
    const cwd = workdir()
    const result = await run(['setup', 'auth0', ...credentialArgs(double), '--public-url', PUBLIC_URL, '--name', 'dcr', '--audience', 'https://dcr.example.com/mcp', '--test-client', '--enable-dcr', '--connection', 'Username-Password-Authentication', '--no-create-secret', '--yes', '--json', '--show-secrets'], {env: env(double), cwd})
    assert.equal(result.code, 0, result.stderr)
    const report = JSON.parse(result.stdout)
    assert.equal(report.ok, true)
    const server = double.clients.find((c) => c.name === 'dcr server')
    const test = double.clients.find((c) => c.name === 'dcr test client')
    assert.ok(server && test)
    assert.equal(report.serverClient.clientSecret, server.client_secret)
    assert.equal(test.app_type, 'native')
    assert.equal(test.token_endpoint_auth_method, 'none')
    assert.equal(double.tenantFlags.enable_dynamic_client_registration, true)
    assert.equal(double.connections.find((c) => c.name === 'Username-Password-Authentication')?.is_domain_connection, true)
    assert.equal(double.connections.find((c) => c.name === 'google-oauth2')?.is_domain_connection, false)
    assert.equal(double.grants.filter((g) => g.audience === 'https://dcr.example.com/mcp').length, 2)
  })

  test('--dry-run sends no change to Auth0 and writes no file', async () => {
    const cwd = workdir()
    const writesBefore = double.writes().length
    const result = await run(['setup', 'auth0', ...credentialArgs(double), '--public-url', 'https://dry.example.com', '--name', 'dry', '--dry-run', '--no-test-client', '--no-enable-dcr', '--no-create-secret'], {env: env(double), cwd})
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /would create\s+Auth0 API/)
    assert.match(result.stdout, /Dry run: nothing was stored/)
    assert.equal(double.writes().length, writesBefore)
    assert.ok(!existsSync(join(cwd, 'oidc.yaml')))
    assert.ok(!existsSync(join(cwd, '.kmcp-secrets')))
  })

  test('a connection dropped midway fails naming what was already made; the re-run completes without duplicates', async () => {
    const cwd = workdir()
    double.dropNext('POST', '/api/v2/client-grants')
    const args = ['setup', 'auth0', ...credentialArgs(double), '--public-url', 'https://midway.example.com', '--name', 'midway', '--yes', '--no-test-client', '--no-enable-dcr', '--no-create-secret']
    const failed = await run(args, {env: env(double), cwd})
    assert.equal(failed.code, 1, failed.stdout)
    assert.match(failed.stderr, /Could not reach Auth0 at https:\/\/127\.0\.0\.1:\d+ while granting "midway server"/)
    assert.match(failed.stderr, /created Auth0 API https:\/\/midway\.example\.com\/mcp/)
    assert.match(failed.stderr, /created Auth0 application midway server/)
    assert.match(failed.stderr, /re-running the same command finishes the rest/)
    assert.equal(double.grants.filter((g) => g.audience === 'https://midway.example.com/mcp').length, 0)

    const again = await run(args, {env: env(double), cwd})
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /unchanged\s+Auth0 application\s+midway server/)
    assert.match(again.stdout, /created\s+Auth0 client grant/)
    assert.equal(double.clients.filter((c) => c.name === 'midway server').length, 1)
    assert.equal(double.resourceServers.filter((r) => r.identifier === 'https://midway.example.com/mcp').length, 1)
    assert.equal(double.grants.filter((g) => g.audience === 'https://midway.example.com/mcp').length, 1)
    // The secret was lost with the failed run's response; the re-run fetched it (read:client_keys).
    const server = double.clients.find((c) => c.name === 'midway server')!
    assert.equal(readFileSync(join(cwd, '.kmcp-secrets', 'client_secret'), 'utf8'), server.client_secret)
  })

  test('an under-scoped token is refused with the list of scopes needed; an expired token says so', async () => {
    const cwd = workdir()
    const readOnly = double.token(ALL_SCOPES.filter((s) => s.startsWith('read:')))
    const result = await run(['setup', 'auth0', '--domain', double.domain, '--mgmt-token', readOnly, '--public-url', 'https://scoped.example.com', '--name', 'scoped', '--yes', '--no-test-client', '--no-enable-dcr', '--no-create-secret'], {env: env(double), cwd})
    assert.equal(result.code, 1)
    assert.match(result.stderr, /Auth0 error 403 while creating API https:\/\/scoped\.example\.com\/mcp: Insufficient scope/)
    for (const scope of ['create:resource_servers', 'create:clients', 'create:client_grants', 'read:client_keys']) assert.ok(result.stderr.includes(scope), `names ${scope}`)
    assert.match(result.stderr, /Nothing was changed before the failure/)
    assert.ok(!result.stderr.includes(readOnly), 'the token is never printed')

    const expired = double.token(ALL_SCOPES, {expired: true})
    const stale = await run(['setup', 'auth0', '--domain', double.domain, '--mgmt-token', expired, '--public-url', 'https://scoped.example.com', '--yes', '--no-test-client', '--no-enable-dcr', '--no-create-secret'], {env: env(double), cwd})
    assert.equal(stale.code, 1)
    assert.match(stale.stderr, /Auth0 error 401 .*Expired token/)
    assert.match(stale.stderr, /has expired or is not a token for this tenant/)

    const wrongSecret = await run(['setup', 'auth0', '--domain', double.domain, '--mgmt-client-id', double.m2m.clientId, '--mgmt-client-secret', 'wrong', '--public-url', 'https://scoped.example.com', '--yes', '--no-test-client', '--no-enable-dcr', '--no-create-secret'], {env: env(double), cwd})
    assert.equal(wrongSecret.code, 1)
    assert.match(wrongSecret.stderr, /client credentials were rejected by https:\/\/127\.0\.0\.1:\d+\/oauth\/token/)
  })

  test('bad input: unreachable domain, malformed URL, unknown connection, missing answer without a terminal', async () => {
    const cwd = workdir()
    const closedPort = await freePort()
    const unreachable = await run(['setup', 'auth0', '--domain', `127.0.0.1:${closedPort}`, '--mgmt-token', 'x', '--public-url', PUBLIC_URL, '--yes', '--no-test-client', '--no-enable-dcr', '--no-create-secret'], {cwd})
    assert.equal(unreachable.code, 1)
    assert.match(unreachable.stderr, new RegExp(`Could not reach Auth0 at https://127\\.0\\.0\\.1:${closedPort} .*ECONNREFUSED`))
    assert.match(unreachable.stderr, /Nothing was changed before the failure/)

    const badUrl = await run(['setup', 'auth0', ...credentialArgs(double), '--public-url', 'http://kmcp.example.com', '--yes'], {env: env(double), cwd})
    assert.equal(badUrl.code, 2)
    assert.match(badUrl.stderr, /--public-url: must use https:\/\//)

    const missing = await run(['setup', 'auth0', ...credentialArgs(double), '--yes'], {env: env(double), cwd})
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /pass --public-url/)

    const noCredentials = await run(['setup', 'auth0', '--domain', double.domain, '--public-url', PUBLIC_URL, '--yes'], {env: env(double), cwd})
    assert.equal(noCredentials.code, 2)
    assert.match(noCredentials.stderr, /--mgmt-client-id and --mgmt-client-secret \(or --mgmt-token\)/)

    const noConfirmation = await run(['setup', 'auth0', ...credentialArgs(double), '--public-url', 'https://confirm.example.com', '--name', 'confirm'], {env: env(double), cwd})
    assert.equal(noConfirmation.code, 2)
    assert.match(noConfirmation.stderr, /pass --yes/)
    assert.equal(double.clients.filter((c) => c.name === 'confirm server').length, 0, 'nothing made without confirmation')

    const unknownConnection = await run(['setup', 'auth0', ...credentialArgs(double), '--public-url', PUBLIC_URL, '--enable-dcr', '--connection', 'nope', '--yes', '--no-test-client', '--no-create-secret'], {env: env(double), cwd})
    assert.equal(unknownConnection.code, 1)
    assert.match(unknownConnection.stderr, /connection "nope" \(from --connection\) does not exist\. The tenant has: Username-Password-Authentication, google-oauth2/)
  })

  test('interactive: answers every prompt in a terminal; Ctrl-C at a prompt exits 130', async () => {
    const cwd = workdir()
    const session = runInTerminal(['setup', 'auth0'], {env: env(double), cwd})
    await session.waitFor(/Auth0 tenant domain/)
    session.type(`${double.domain}\r`)
    await session.waitFor(/How should kmcp authenticate/)
    session.type('\r') // first choice: client id and secret
    await session.waitFor(/Management API client id/)
    session.type(`${double.m2m.clientId}\r`)
    await session.waitFor(/Management API client secret/)
    session.type(`${double.m2m.clientSecret}\r`)
    await session.waitFor(/public URL/)
    session.type('https://tty.example.com\r')
    await session.waitFor(/Identifier of the Auth0 API/)
    session.type('\r') // default <public-url>/mcp
    await session.waitFor(/test application/)
    session.type('y\r')
    await session.waitFor(/register with Auth0 directly/)
    session.type('n\r')
    await session.waitFor(/Store the client secret in the cluster/)
    session.type('n\r')
    await session.waitFor(/Change the Auth0 tenant/)
    session.type('y\r')
    const code = await session.exited
    const screen = session.output()
    assert.equal(code, 0, screen)
    assert.match(screen, /created\s+Auth0 application\s+kmcp test client/)
    assert.ok(!screen.includes(double.m2m.clientSecret), 'the typed secret is masked')
    assert.ok(double.resourceServers.some((r) => r.identifier === 'https://tty.example.com/mcp'))
    assert.ok(existsSync(join(cwd, 'oidc.yaml')))

    const interrupted = runInTerminal(['setup', 'auth0'], {env: env(double), cwd})
    await interrupted.waitFor(/Auth0 tenant domain/)
    interrupted.type('\x03')
    assert.equal(await interrupted.exited, 130)
  })

  test('--create-secret stores the client secret and keys in the cluster', async () => {
    const namespace = await createNamespace('setup-auth0')
    const cwd = workdir()
    const result = await run(['setup', 'auth0', ...credentialArgs(double), '--public-url', 'https://secret.example.com', '--name', 'secret', '--create-secret', '--namespace', namespace, '--release', 'demo', '--kubeconfig', harness().kubeconfigFor('admin'), '--yes', '--no-test-client', '--no-enable-dcr'], {env: env(double), cwd})
    assert.equal(result.code, 0, result.stderr)
    const server = double.clients.find((c) => c.name === 'secret server')!
    const stored = await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/secrets/demo-oidc-client`)
    assert.equal(stored.status, 200)
    assert.equal(Buffer.from(stored.body.data.client_secret, 'base64').toString('utf8'), server.client_secret)
    assert.equal((await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/secrets/demo-keys`)).status, 200)
    for (const file of ['client_secret', 'jwt_signing_key', 'storage_encryption_key']) {
      assert.equal(statSync(join(cwd, '.kmcp-secrets', file)).mode & 0o777, 0o600, file)
    }
  })
})
