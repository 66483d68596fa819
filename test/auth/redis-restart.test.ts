// Redis restarted mid-session with OAuth on (redis-server with an append-only file, restarted on the
// same port and directory, as the chart's Redis on its PersistentVolumeClaim): the MCP session, the
// issued access and refresh tokens and the registered client are all still there. Replica B, which
// never saw any of them before the restart, serves them from what Redis kept.
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {deleteNamespace, waitFor} from '../support/kube.ts'
import {callTool, textOf} from '../support/mcp.ts'
import {authorizeUrl, cnpgNamespace, obtainCode, obtainTokens, pkcePair, postForm, startAuthStack, type AuthStack} from './helpers.ts'

let stack: AuthStack
let namespace: string

before(async () => {
  namespace = await cnpgNamespace('auth-redis-restart')
  stack = await startAuthStack({replicas: 2, persistentRedis: true})
})

after(async () => {
  await stack?.stop()
  if (namespace) await deleteNamespace(namespace)
})

test('after a Redis restart the MCP session, the access and refresh tokens and the registered client still work, on the replica that never saw them', async () => {
  const {redis, idp, publicUrl} = stack
  const replicaB = stack.replicas[1]
  const urlB = new URL(replicaB.url).origin
  idp.signInAs('bob')
  // Registered, signed in and connected through replica A only.
  const tokens = await obtainTokens(publicUrl)
  const transport = new StreamableHTTPClientTransport(new URL(`${publicUrl}/mcp`), {requestInit: {headers: {authorization: `Bearer ${tokens.access_token}`}}})
  const client = new Client({name: 'kmcp-redis-restart', version: '1.0.0'})
  await client.connect(transport)
  try {
    assert.equal((await callTool(client, 'list_postgres_clusters', {namespace})).isError, undefined)
    const sessionId = transport.sessionId!
    assert.ok(sessionId)

    await redis.stop()
    assert.equal((await fetch(`${urlB}/readyz`)).status, 503, 'Redis was really down')
    await redis.start()
    const ready = async (url: string) => (await fetch(`${url}/readyz`)).status === 200
    await waitFor(async () => (await ready(publicUrl)) && (await ready(urlB)), {timeoutMs: 20_000, message: 'both replicas ready again after the restart'})

    // The session continues on A and is rebuilt by B, for the same token.
    const onA = await callTool(client, 'list_postgres_clusters', {namespace})
    assert.equal(onA.isError, undefined, textOf(onA))
    const onB = await fetch(`${urlB}/mcp`, {
      method: 'POST',
      headers: {authorization: `Bearer ${tokens.access_token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25', 'content-type': 'application/json', accept: 'application/json, text/event-stream'},
      body: JSON.stringify({jsonrpc: '2.0', id: 50, method: 'tools/list', params: {}}),
    })
    assert.equal(onB.status, 200, await onB.clone().text())
    assert.match(await onB.text(), /list_postgres_clusters/)
    assert.match(replicaB.stderr(), /MCP session rebuilt from redis/)

    // The refresh token is redeemed on B, and the new access token opens a session there.
    const refreshed = await postForm(`${urlB}/token`, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: tokens.clientId})
    assert.equal(refreshed.status, 200, await refreshed.clone().text())
    const next = (await refreshed.json()) as {access_token: string}
    const fresh = new Client({name: 'kmcp-redis-restart', version: '1.0.0'})
    await fresh.connect(new StreamableHTTPClientTransport(new URL(`${urlB}/mcp`), {requestInit: {headers: {authorization: `Bearer ${next.access_token}`}}}))
    assert.equal((await callTool(fresh, 'list_postgres_clusters', {namespace})).isError, undefined)
    await fresh.close()

    // The registered client: B knows it at /authorize, and a whole new sign-in with it succeeds.
    const authorize = await fetch(authorizeUrl(urlB, {response_type: 'code', client_id: tokens.clientId, redirect_uri: 'http://127.0.0.1:53682/callback', code_challenge: pkcePair().challenge, code_challenge_method: 'S256'}), {redirect: 'manual'})
    assert.equal(authorize.status, 302, await authorize.clone().text())
    assert.match(authorize.headers.get('location') ?? '', /\/consent\?txn=/)
    const {code, verifier, redirectUri} = await obtainCode(publicUrl, tokens.clientId)
    const exchanged = await postForm(`${publicUrl}/token`, {grant_type: 'authorization_code', code, code_verifier: verifier, client_id: tokens.clientId, redirect_uri: redirectUri, resource: `${publicUrl}/mcp`})
    assert.equal(exchanged.status, 200, await exchanged.clone().text())
  } finally {
    await client.close()
  }
})
