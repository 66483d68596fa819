// Machine callers at kmcp's /token: machine_clients with the client_credentials grant (secret
// over HTTP Basic, or a private_key_jwt assertion per RFC 7523) and trusted workload issuers
// with RFC 8693 token exchange (a service-account token from the real kube-apiserver, whose keys
// kmcp reads through its Kubernetes connection; a local "CI platform" for the cases the API
// server cannot produce). With --impersonate the configured identity is what Kubernetes sees,
// and the audit lines name the machine client or the workload.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {bindRole, deleteNamespace, waitFor} from '../support/kube.ts'
import {callTool, connectHttp, textOf} from '../support/mcp.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {cnpgNamespace, initializeWith, startAuthStack, type AuthStack} from './helpers.ts'
import {
  KUBERNETES_ISSUER,
  auditLinesOf,
  basicAuth,
  ciIdToken,
  clientAssertion,
  createServiceAccount,
  exchangeForm,
  machineFixtures,
  serviceAccountToken,
  tokenRequest,
  type MachineFixtures,
} from './machine-helpers.ts'

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
let stack: AuthStack
let fixtures: MachineFixtures
let namespace: string
let publicUrl: string
let mcpUrl: string
const clients: Client[] = []

before(async () => {
  namespace = await cnpgNamespace('machine')
  await makeHealthyCluster(namespace, 'orders-db')
  await createServiceAccount(namespace, 'kmcp-ci')
  await createServiceAccount(namespace, 'someone-else')
  fixtures = await machineFixtures({serviceAccountSubject: `system:serviceaccount:${namespace}:kmcp-ci`})
  stack = await startAuthStack({extraArgs: ['--impersonate'], extraConfig: fixtures.config})
  publicUrl = stack.publicUrl
  mcpUrl = stack.replicas[0].url
  // Only ci-bot and k8s-ci may read and change clusters in the namespace.
  for (const user of ['ci-bot', 'k8s-ci']) {
    await bindRole(namespace, user, 'cnpg-cloudnative-pg-view')
    await bindRole(namespace, user, 'cnpg-cloudnative-pg-edit')
  }
})

after(async () => {
  for (const client of clients) await client.close().catch(() => undefined)
  await stack?.stop()
  if (namespace) await deleteNamespace(namespace)
})

async function connectWith(token: string): Promise<Client> {
  const client = await connectHttp(mcpUrl, {authorization: `Bearer ${token}`})
  clients.push(client)
  return client
}

function auditLines(): Array<Record<string, unknown>> {
  return auditLinesOf(stack.replicas[0])
}

async function expectAudit(what: string, match: (line: Record<string, unknown>) => boolean): Promise<void> {
  await waitFor(() => auditLines().some(match), {timeoutMs: 10_000, message: what}).catch(() => undefined)
  assert.ok(auditLines().some(match), `${what}; audit lines: ${JSON.stringify(auditLines())}`)
}

test('the authorization server metadata advertises the machine grants and client authentication methods', async () => {
  const metadata = (await (await fetch(`${publicUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, string[]>
  assert.deepEqual(metadata.grant_types_supported, ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'])
  assert.deepEqual(metadata.token_endpoint_auth_methods_supported, ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'])
})

describe('client_credentials for machine_clients', () => {
  test('client_secret_basic: a token acting as the configured user, named in the audit lines', async () => {
    const answer = await tokenRequest(publicUrl, {grant_type: 'client_credentials', resource: mcpUrl}, basicAuth('ci-basic', fixtures.basicSecret))
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    assert.equal(answer.body.token_type, 'Bearer')
    assert.equal(answer.body.scope, 'kmcp')
    assert.equal(answer.body.expires_in, 3600)
    assert.equal(answer.body.refresh_token, undefined, 'no refresh token for client credentials (RFC 6749 §4.4.3)')
    assert.equal(answer.headers.get('cache-control'), 'no-store')
    const client = await connectWith(answer.body.access_token)
    // ci-bot is bound to the CNPG roles in the namespace; Kubernetes sees that user.
    const scale = await callTool(client, 'scale_postgres_cluster', {namespace, name: 'orders-db', instances: 2, dry_run: true})
    assert.equal(scale.isError, undefined, textOf(scale))
    await expectAudit('an audit line naming the machine client', (a) => a.tool === 'scale_postgres_cluster' && a.machine_client === 'ci-basic' && a.subject === 'ci-bot' && a.result === 'ok')
    await expectAudit('an audit line for the token', (a) => a.event === 'machine_token' && a.machine_client === 'ci-basic' && a.grant_type === 'client_credentials')
  })

  test('client_secret_post works too; a wrong secret and an unknown client get the same 401', async () => {
    const post = await tokenRequest(publicUrl, {grant_type: 'client_credentials', client_id: 'ci-basic', client_secret: fixtures.basicSecret})
    assert.equal(post.status, 200, JSON.stringify(post.body))
    for (const [id, secret] of [['ci-basic', 'not-the-secret-0123456789'], ['nobody', fixtures.basicSecret]]) {
      const refused = await tokenRequest(publicUrl, {grant_type: 'client_credentials'}, basicAuth(id, secret))
      assert.equal(refused.status, 401)
      assert.equal(refused.body.error, 'invalid_client')
      assert.equal(refused.body.error_description, 'client authentication failed: unknown machine client or wrong credential')
      assert.match(refused.headers.get('www-authenticate') ?? '', /^Basic/)
    }
    assert.ok(!stack.replicas[0].stderr().includes(fixtures.basicSecret), 'the secret is never logged')
  })

  test('a scope the client may not have, another resource, and two authentication methods are refused', async () => {
    const scope = await tokenRequest(publicUrl, {grant_type: 'client_credentials', scope: 'kmcp admin'}, basicAuth('ci-basic', fixtures.basicSecret))
    assert.deepEqual([scope.status, scope.body.error], [400, 'invalid_scope'])
    const resource = await tokenRequest(publicUrl, {grant_type: 'client_credentials', resource: 'https://elsewhere.example/mcp'}, basicAuth('ci-basic', fixtures.basicSecret))
    assert.deepEqual([resource.status, resource.body.error], [400, 'invalid_target'])
    const both = await tokenRequest(publicUrl, {grant_type: 'client_credentials', client_id: 'ci-basic', client_secret: fixtures.basicSecret}, basicAuth('ci-basic', fixtures.basicSecret))
    assert.deepEqual([both.status, both.body.error], [400, 'invalid_request'])
  })

  test('private_key_jwt: a signed assertion gets a token; the same assertion again, a wrong audience, a long-lived one and a secret are refused', async () => {
    const assertion = await clientAssertion(fixtures.jwtClientKey, 'ci-jwt', `${publicUrl}/token`)
    const form = {grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion}
    const answer = await tokenRequest(publicUrl, form)
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    assert.equal(answer.body.expires_in, 600, 'token_lifetime_seconds of the client')
    assert.equal((await initializeWith(mcpUrl, `Bearer ${answer.body.access_token}`)).status, 200)
    const replay = await tokenRequest(publicUrl, form)
    assert.deepEqual([replay.status, replay.body.error], [401, 'invalid_client'])
    assert.match(replay.body.error_description, /already used/)
    const wrongAudience = await tokenRequest(publicUrl, {...form, client_assertion: await clientAssertion(fixtures.jwtClientKey, 'ci-jwt', 'https://other.example/token')})
    assert.deepEqual([wrongAudience.status, wrongAudience.body.error], [401, 'invalid_client'])
    assert.match(wrongAudience.body.error_description, /aud/)
    const longLived = await tokenRequest(publicUrl, {...form, client_assertion: await clientAssertion(fixtures.jwtClientKey, 'ci-jwt', `${publicUrl}/token`, {lifetime: 3600})})
    assert.match(longLived.body.error_description, /must expire within 600 s/)
    // Signed by another client's key (the CI platform's): the signature does not verify.
    const forged = await tokenRequest(publicUrl, {...form, client_assertion: await ciIdTokenAsAssertion()})
    assert.deepEqual([forged.status, forged.body.error], [401, 'invalid_client'])
    const secret = await tokenRequest(publicUrl, {grant_type: 'client_credentials'}, basicAuth('ci-jwt', fixtures.basicSecret))
    assert.equal(secret.status, 401)
  })

  test('ci-jwt-bot has no RBAC in the namespace: Kubernetes refuses what its token asks for', async () => {
    const answer = await tokenRequest(publicUrl, {grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: await clientAssertion(fixtures.jwtClientKey, 'ci-jwt', publicUrl)})
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    const client = await connectWith(answer.body.access_token)
    const list = await callTool(client, 'list_postgres_clusters', {namespace})
    assert.equal(list.isError, true, textOf(list))
    assert.match(textOf(list), /ci-jwt-bot/)
  })
})

/** A JWT shaped like ci-jwt's assertion but signed with the wrong key. */
async function ciIdTokenAsAssertion(): Promise<string> {
  return ciIdToken(fixtures.ciKey, {audience: `${publicUrl}/token`, sub: 'ci-jwt'}, {issuer: 'ci-jwt'})
}

describe('token exchange (RFC 8693) for trusted workload issuers', () => {
  test('a service-account token from the real kube-apiserver is exchanged once for a short-lived token acting as k8s-ci', async () => {
    const subjectToken = await serviceAccountToken(namespace, 'kmcp-ci', publicUrl)
    const answer = await tokenRequest(publicUrl, exchangeForm(subjectToken, {resource: mcpUrl}))
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    assert.equal(answer.body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token')
    assert.equal(answer.body.expires_in, 600)
    assert.equal(answer.body.refresh_token, undefined)
    const client = await connectWith(answer.body.access_token)
    const scale = await callTool(client, 'scale_postgres_cluster', {namespace, name: 'orders-db', instances: 2, dry_run: true})
    assert.equal(scale.isError, undefined, textOf(scale))
    const workload = `${KUBERNETES_ISSUER} system:serviceaccount:${namespace}:kmcp-ci`
    await expectAudit('an audit line naming the workload', (a) => a.tool === 'scale_postgres_cluster' && a.workload === workload && a.subject === 'k8s-ci')
    // The same subject token again (its jti was seen): refused, and audited.
    const replay = await tokenRequest(publicUrl, exchangeForm(subjectToken))
    assert.deepEqual([replay.status, replay.body.error], [400, 'invalid_request'])
    assert.match(replay.body.error_description, /already exchanged/)
    await expectAudit('an audit line for the replay', (a) => a.event === 'oauth_replay' && a.credential === 'subject_token' && a.workload === workload)
  })

  test('a service-account token for another audience, or of a service account no rule names, is refused', async () => {
    const otherAudience = await tokenRequest(publicUrl, exchangeForm(await serviceAccountToken(namespace, 'kmcp-ci', 'https://elsewhere.example')))
    assert.deepEqual([otherAudience.status, otherAudience.body.error], [400, 'invalid_request'])
    assert.match(otherAudience.body.error_description, /audience is not one trusted_workload_issuers\[1\] accepts/)
    const otherAccount = await tokenRequest(publicUrl, exchangeForm(await serviceAccountToken(namespace, 'someone-else', publicUrl)))
    assert.deepEqual([otherAccount.status, otherAccount.body.error], [400, 'invalid_request'])
    assert.match(otherAccount.body.error_description, /no trusted_workload_issuers entry for https:\/\/kubernetes\.default\.svc\.cluster\.local accepts this token's claims/)
    assert.match(stack.replicas[0].stderr(), /a claim rule does not hold.*system:serviceaccount:[a-z0-9-]+:kmcp-ci/)
  })

  test('the local CI platform: claim rules decide; expired, untrusted-issuer and forged tokens are refused', async () => {
    const good = await tokenRequest(publicUrl, exchangeForm(await ciIdToken(fixtures.ciKey, {audience: publicUrl})))
    assert.equal(good.status, 200, JSON.stringify(good.body))
    assert.equal(good.body.expires_in, 900, 'exchanged tokens last 15 minutes by default')
    const refusals: Array<[string, Promise<string>, RegExp]> = [
      ['another repository', ciIdToken(fixtures.ciKey, {audience: publicUrl, repository: 'org/other'}), /no trusted_workload_issuers entry for https:\/\/ci\.example\.test accepts/],
      ['a tag instead of a branch', ciIdToken(fixtures.ciKey, {audience: publicUrl, ref: 'refs/tags/v1'}), /accepts this token's claims/],
      ['no repository claim', ciIdToken(fixtures.ciKey, {audience: publicUrl, repository: undefined}), /accepts this token's claims/],
      ['expired', ciIdToken(fixtures.ciKey, {audience: publicUrl, iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 600}), /has expired/],
      ['wrong audience', ciIdToken(fixtures.ciKey, {audience: 'https://elsewhere.example'}), /audience is not one trusted_workload_issuers\[0\] accepts/],
      ['untrusted issuer', ciIdToken(fixtures.ciKey, {audience: publicUrl}, {issuer: 'https://untrusted.example'}), /issuer "https:\/\/untrusted\.example" is not one of this server's trusted_workload_issuers/],
      ['signed with another key', forgedWithOtherRsaKey(), /signature does not verify/],
    ]
    for (const [what, token, message] of refusals) {
      const refused = await tokenRequest(publicUrl, exchangeForm(await token))
      assert.equal(refused.status, 400, `${what}: ${JSON.stringify(refused.body)}`)
      assert.equal(refused.body.error, 'invalid_request', what)
      assert.match(refused.body.error_description, message, what)
    }
  })

  test('malformed exchange requests say what is wrong', async () => {
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token_type: 'urn:ietf:params:oauth:token-type:id_token'}, 'invalid_request', /subject_token is required/],
      [exchangeForm('x', {subject_token_type: 'urn:ietf:params:oauth:token-type:access_token'}), 'invalid_request', /subject_token_type must be/],
      [exchangeForm('not-a-jwt'), 'invalid_request', /not a JWT/],
      [exchangeForm('x', {requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token'}), 'invalid_request', /requested_token_type must be/],
      [exchangeForm('x', {audience: 'https://elsewhere.example'}), 'invalid_target', /audience must be/],
    ]
    for (const [form, error, message] of cases) {
      const answer = await tokenRequest(publicUrl, form)
      assert.equal(answer.body.error, error, JSON.stringify(answer.body))
      assert.match(answer.body.error_description, message)
    }
  })
})

async function forgedWithOtherRsaKey(): Promise<string> {
  const {generateKeyPair} = await import('jose')
  const other = await generateKeyPair('RS256')
  return ciIdToken(other.privateKey, {audience: publicUrl})
}

test('kmcp refuses to start with a machine client it cannot use, naming the entry', async () => {
  const {loadAuthConfig} = await import('../../src/lib/auth/config.ts')
  const {writeFileSync} = await import('node:fs')
  const {join} = await import('node:path')
  const {stringify, parse} = await import('yaml')
  const {readFileSync} = await import('node:fs')
  const base = parse(readFileSync(stack.files.configPath, 'utf8')) as Record<string, unknown>
  const attempt = (extra: Record<string, unknown>) => {
    const path = join(stack.files.dir, 'broken.yaml')
    writeFileSync(path, stringify({...base, ...extra}))
    return () => loadAuthConfig({path, explicit: true, loopback: true, env: {}})
  }
  assert.throws(attempt({machine_clients: [{client_id: 'x', username: 'x'}]}), /machine_clients\[0\] \(x\) in .* has no credential/)
  assert.throws(attempt({machine_clients: [{client_id: 'x', client_secret_env: 'NOPE'}]}), /NOPE .* is not set/)
  assert.throws(attempt({machine_clients: [{client_id: 'x', client_secret_file: '/nonexistent', groups: ['system:masters']}]}), /cannot read \/nonexistent/)
  assert.throws(attempt({machine_clients: [{client_id: 'x', client_secret_file: join(stack.files.dir, 'jwt_signing_key'), groups: ['system:masters']}]}), /group "system:masters" of machine_clients\[0\] \(x\) .* is not allowed/)
  assert.throws(attempt({machine_clients: [{client_id: 'x', secret_file: 'y'}]}), /`machine_clients.0.secret_file` .* is not a setting/)
  assert.throws(attempt({trusted_workload_issuers: [{issuer: 'https://ci.example', rules: ['repository = "a"'], username: 'u'}]}), /rule "repository = \\"a\\"" of trusted_workload_issuers\[0\] .* is not understood/)
  assert.throws(attempt({trusted_workload_issuers: [{issuer: 'https://ci.example'}]}), /trusted_workload_issuers\[0\] .* needs `username`/)
})
