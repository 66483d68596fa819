// Revoking machine tokens at kmcp's /revoke (RFC 7009): a machine client's token with that
// client's credentials, an exchanged token by whoever holds it. The grant lives in the shared
// Redis, so the other replica refuses the token too (after its one-second grant cache).
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'
import {waitFor} from '../support/kube.ts'
import {initializeWith, startAuthStack, type AuthStack} from './helpers.ts'
import {auditLinesOf, basicAuth, ciIdToken, clientAssertion, exchangeForm, machineFixtures, tokenRequest, type MachineFixtures} from './machine-helpers.ts'

let stack: AuthStack
let fixtures: MachineFixtures

before(async () => {
  fixtures = await machineFixtures({serviceAccountSubject: 'system:serviceaccount:none:none'})
  stack = await startAuthStack({replicas: 2, extraConfig: fixtures.config})
})

after(async () => {
  await stack?.stop()
})

async function revokeAt(baseUrl: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{status: number; body: Record<string, any> | undefined}> {
  const response = await fetch(`${baseUrl}/revoke`, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded', ...headers}, body: new URLSearchParams(form)})
  const text = await response.text()
  return {status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined}
}

/** The MCP status of an initialize with this token, at replica `index`. */
async function statusAt(index: number, token: string): Promise<number> {
  return (await initializeWith(stack.replicas[index].url, `Bearer ${token}`)).status
}

async function clientCredentialsToken(): Promise<string> {
  const answer = await tokenRequest(stack.publicUrl, {grant_type: 'client_credentials'}, basicAuth('ci-basic', fixtures.basicSecret))
  assert.equal(answer.status, 200, JSON.stringify(answer.body))
  return answer.body.access_token as string
}

test("a machine client's token is revoked with that client's credentials only, and then refused by every replica", async () => {
  const token = await clientCredentialsToken()
  assert.equal(await statusAt(1, token), 200, 'the other replica accepts it (and caches the grant)')

  // Without credentials, with a wrong secret, or as another machine client: the token stays valid.
  assert.equal((await revokeAt(stack.publicUrl, {token})).status, 200, 'RFC 7009: no error, but nothing revoked')
  const wrong = await revokeAt(stack.publicUrl, {token}, basicAuth('ci-basic', 'not-the-secret-0123456789'))
  assert.deepEqual([wrong.status, wrong.body?.error], [401, 'invalid_client'])
  const assertion = await clientAssertion(fixtures.jwtClientKey, 'ci-jwt', stack.publicUrl)
  const other = await revokeAt(stack.publicUrl, {token, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion})
  assert.equal(other.status, 200, JSON.stringify(other.body))
  assert.equal(await statusAt(0, token), 200, 'still valid after the refused attempts')

  const revoked = await revokeAt(stack.publicUrl, {token, token_type_hint: 'access_token'}, basicAuth('ci-basic', fixtures.basicSecret))
  assert.equal(revoked.status, 200, JSON.stringify(revoked.body))
  assert.equal(await statusAt(0, token), 401, 'refused at once by the replica that revoked it')
  await waitFor(async () => (await statusAt(1, token)) === 401, {timeoutMs: 5000, intervalMs: 200, message: 'the other replica refuses the revoked token'})
  const audit = auditLinesOf(stack.replicas[0]).find((a) => a.event === 'machine_token_revoked')
  assert.deepEqual([audit?.machine_client, audit?.subject], ['ci-basic', 'ci-bot'], JSON.stringify(auditLinesOf(stack.replicas[0])))
  // Revoking again is not an error; a new token works, and the secret in the body revokes it too.
  assert.equal((await revokeAt(stack.replicas[1].baseUrl, {token}, basicAuth('ci-basic', fixtures.basicSecret))).status, 200)
  const next = await clientCredentialsToken()
  assert.equal(await statusAt(1, next), 200)
  assert.equal((await revokeAt(stack.replicas[1].baseUrl, {token: next, client_id: 'ci-basic', client_secret: fixtures.basicSecret})).status, 200)
  assert.equal(await statusAt(1, next), 401)
})

test('an exchanged token is revoked by presenting it (no client), and then refused by every replica', async () => {
  const exchanged = await tokenRequest(stack.publicUrl, exchangeForm(await ciIdToken(fixtures.ciKey, {audience: stack.publicUrl})))
  assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body))
  const token = exchanged.body.access_token as string
  assert.equal(await statusAt(0, token), 200)
  assert.equal(await statusAt(1, token), 200)
  // A machine client's credentials do not revoke a workload's token.
  assert.equal((await revokeAt(stack.publicUrl, {token}, basicAuth('ci-basic', fixtures.basicSecret))).status, 200)
  assert.equal(await statusAt(0, token), 200)

  assert.equal((await revokeAt(stack.replicas[1].baseUrl, {token})).status, 200)
  assert.equal(await statusAt(1, token), 401)
  await waitFor(async () => (await statusAt(0, token)) === 401, {timeoutMs: 5000, intervalMs: 200, message: 'the first replica refuses the revoked token'})
  assert.ok(auditLinesOf(stack.replicas[1]).some((a) => a.event === 'machine_token_revoked' && String(a.workload).startsWith('https://ci.example.test ')))
})

test('the metadata lists the client authentication methods /revoke accepts', async () => {
  const metadata = (await (await fetch(`${stack.publicUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, string[]>
  assert.deepEqual(metadata.revocation_endpoint_auth_methods_supported, ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'])
})
