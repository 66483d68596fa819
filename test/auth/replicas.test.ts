// Two kmcp serve processes sharing one Redis behave as one authorization server, and /readyz
// follows Redis through an outage without a restart.
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'
import {deleteNamespace, waitFor} from '../support/kube.ts'
import {callTool, connectHttp, textOf, type HttpServerProcess} from '../support/mcp.ts'
import type {TestIdentityProvider} from '../support/oidc.ts'
import type {TestRedis} from '../support/redis.ts'
import {authorizeUrl, cnpgNamespace, initializeWith, obtainTokens, pkcePair, postForm, registerClient, startAuthStack, type AuthStack} from './helpers.ts'

let stack: AuthStack
let redis: TestRedis
let idp: TestIdentityProvider
let replicaA: HttpServerProcess
let replicaB: HttpServerProcess
let publicUrl: string
let urlB: string
let namespace: string
/** A valid access token left by the first test, for the outage test. */
let accessToken: string | undefined

before(async () => {
  namespace = await cnpgNamespace('auth-replicas')
  // Both replicas advertise the same public URL (A's), as they would behind one Service or ingress.
  stack = await startAuthStack({replicas: 2})
  ;({redis, idp, publicUrl} = stack)
  ;[replicaA, replicaB] = stack.replicas
  urlB = new URL(replicaB.url).origin
})

after(async () => {
  await stack?.stop()
  if (namespace) await deleteNamespace(namespace)
})

test('a client registered, a token issued and an MCP session opened by replica A work on replica B; B refreshes after A stops', async () => {
  idp.signInAs('bob')
  const tokens = await obtainTokens(publicUrl)

  // B knows the client A registered.
  const pkce = pkcePair()
  const authorize = await fetch(authorizeUrl(urlB, {response_type: 'code', client_id: tokens.clientId, redirect_uri: 'http://127.0.0.1:53682/callback', code_challenge: pkce.challenge, code_challenge_method: 'S256'}), {redirect: 'manual'})
  assert.equal(authorize.status, 302)
  assert.match(authorize.headers.get('location') ?? '', /\/consent\?txn=/)

  // B accepts A's token for tool calls.
  const client = await connectHttp(`${urlB}/mcp`, {authorization: `Bearer ${tokens.access_token}`})
  const result = await callTool(client, 'list_postgres_clusters', {namespace})
  assert.ok(!result.isError, textOf(result))
  await client.close()

  // MCP sessions live in the shared Redis: B serves (rebuilds) A's session for its owner, and
  // refuses it to another user.
  const onA = await initializeWith(`${publicUrl}/mcp`, `Bearer ${tokens.access_token}`)
  assert.equal(onA.status, 200)
  const sessionId = onA.headers.get('mcp-session-id')!
  const crossed = await fetch(`${urlB}/mcp`, {
    method: 'POST',
    headers: {authorization: `Bearer ${tokens.access_token}`, 'mcp-session-id': sessionId, 'content-type': 'application/json', accept: 'application/json, text/event-stream'},
    body: JSON.stringify({jsonrpc: '2.0', id: 2, method: 'tools/list', params: {}}),
  })
  assert.equal(crossed.status, 200)
  assert.match(await crossed.text(), /list_postgres_clusters/)
  idp.signInAs('alice')
  const alice = await obtainTokens(publicUrl)
  const stolen = await fetch(`${urlB}/mcp`, {
    method: 'POST',
    headers: {authorization: `Bearer ${alice.access_token}`, 'mcp-session-id': sessionId, 'content-type': 'application/json', accept: 'application/json, text/event-stream'},
    body: JSON.stringify({jsonrpc: '2.0', id: 3, method: 'tools/list', params: {}}),
  })
  assert.equal(stolen.status, 403)
  assert.match(await stolen.text(), /belongs to another user/)

  await replicaA.stop()
  const refreshed = await postForm(`${urlB}/token`, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: tokens.clientId})
  assert.equal(refreshed.status, 200)
  const next = (await refreshed.json()) as {access_token: string}
  assert.equal((await initializeWith(`${urlB}/mcp`, `Bearer ${next.access_token}`)).status, 200)
  accessToken = next.access_token
})

test('/readyz fails while Redis is down and recovers without a restart', async () => {
  const ready = async () => (await fetch(`${urlB}/readyz`)).status
  await waitFor(async () => (await ready()) === 200, {message: '/readyz 200 before the outage'})
  await redis.stop()
  const down = await fetch(`${urlB}/readyz`)
  assert.equal(down.status, 503)
  const report = (await down.json()) as {checks: Array<{name: string; ok: boolean}>}
  assert.equal(report.checks.find((c) => c.name === 'redis')?.ok, false)
  // A request that needs storage gets 503 (retry later), not a hang or a 500.
  const registration = await fetch(`${urlB}/register`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({redirect_uris: ['http://127.0.0.1:53682/callback']})})
  assert.equal(registration.status, 503)
  if (accessToken) assert.equal((await initializeWith(`${urlB}/mcp`, `Bearer ${accessToken}`)).status, 503)

  await redis.start()
  await waitFor(async () => (await ready()) === 200, {timeoutMs: 20_000, message: '/readyz 200 after Redis came back'})
  assert.ok(await registerClient(urlB))
})
