// DNS rebinding and cross-site requests: a page whose name was re-pointed at kmcp's address
// arrives with its own name in Host and its own origin in Origin. kmcp must refuse it with 403 and
// a JSON-RPC error body, with authentication off (loopback development) and on, on /mcp and on
// the OAuth endpoints; probes and public metadata stay reachable.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {harness} from '../support/kube.ts'
import {startHttpServer, type HttpServerProcess} from '../support/mcp.ts'
import {INITIALIZE_BODY, MCP_HEADERS, rawHttp, type RawResponse} from '../support/raw-http.ts'
import {startAuthStack, type AuthStack} from './helpers.ts'

function assertRefused(response: RawResponse, what: string): void {
  assert.equal(response.status, 403, `${what}: ${response.body.slice(0, 200)}`)
  const body = JSON.parse(response.body) as {jsonrpc: string; error: {code: number; message: string}; id: null}
  assert.equal(body.jsonrpc, '2.0', what)
  assert.equal(body.id, null, what)
  assert.match(body.error.message, /DNS rebinding/, what)
}

describe('authentication off (loopback)', () => {
  let kmcp: HttpServerProcess
  let port: string
  before(async () => {
    kmcp = await startHttpServer({kubeconfig: harness().kubeconfigPath, extraArgs: ['--allowed-origins', 'https://inspector.example.com']})
    port = new URL(kmcp.url).port
  })
  after(async () => {
    await kmcp?.stop()
  })
  const initialize = (headers: Record<string, string>) => rawHttp(kmcp.url, {method: 'POST', headers: {...MCP_HEADERS, ...headers}, body: INITIALIZE_BODY})

  test('a rebound name in Host is refused', async () => {
    for (const host of [`evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost.evil.example`, `evil.example`, `user@127.0.0.1:${port}`]) assertRefused(await initialize({host}), host)
  })
  test('a foreign Origin is refused, even with a good Host', async () => {
    for (const origin of ['http://evil.example', `http://evil.example:${port}`, 'null', 'https://inspector.example.com.evil.example', 'http://10.1.2.3']) assertRefused(await initialize({host: `127.0.0.1:${port}`, origin}), origin)
  })
  test('GET (SSE) and DELETE on /mcp are checked too', async () => {
    assertRefused(await rawHttp(kmcp.url, {headers: {host: 'evil.example', accept: 'text/event-stream'}}), 'GET')
    assertRefused(await rawHttp(kmcp.url, {method: 'DELETE', headers: {host: 'evil.example', 'mcp-session-id': 'x'}}), 'DELETE')
  })
  test('control: loopback names, local and allowed origins are served', async () => {
    const cases: Array<Record<string, string>> = [{host: `127.0.0.1:${port}`}, {host: `localhost:${port}`}, {host: `127.0.0.1:${port}`, origin: 'http://localhost:6274'}, {host: `127.0.0.1:${port}`, origin: 'https://inspector.example.com'}]
    for (const headers of cases) {
      const response = await initialize(headers)
      assert.equal(response.status, 200, JSON.stringify(headers))
    }
  })
  test('health probes answer whatever the Host (the kubelet uses the pod IP)', async () => {
    assert.equal((await rawHttp(`http://127.0.0.1:${port}/healthz`, {headers: {host: 'evil.example'}})).status, 200)
  })
})

describe('authentication on', () => {
  let stack: AuthStack
  let port: string
  before(async () => {
    stack = await startAuthStack()
    port = new URL(stack.publicUrl).port
  })
  after(async () => {
    await stack?.stop()
  })

  test('/mcp and every OAuth endpoint refuse a rebound Host before anything else', async () => {
    const before = new Set(await stack.redis.keys())
    const host = `evil.example:${port}`
    assertRefused(await rawHttp(`${stack.publicUrl}/mcp`, {method: 'POST', headers: {...MCP_HEADERS, host}, body: INITIALIZE_BODY}), '/mcp')
    assertRefused(await rawHttp(`${stack.publicUrl}/register`, {method: 'POST', headers: {host, 'content-type': 'application/json'}, body: JSON.stringify({redirect_uris: ['http://127.0.0.1:1/cb']})}), '/register')
    assertRefused(await rawHttp(`${stack.publicUrl}/authorize?client_id=x`, {headers: {host}}), '/authorize')
    assertRefused(await rawHttp(`${stack.publicUrl}/token`, {method: 'POST', headers: {host, 'content-type': 'application/x-www-form-urlencoded'}, body: 'grant_type=refresh_token&refresh_token=x&client_id=x'}), '/token')
    assertRefused(await rawHttp(`${stack.publicUrl}/revoke`, {method: 'POST', headers: {host, 'content-type': 'application/x-www-form-urlencoded'}, body: 'token=x&client_id=x'}), '/revoke')
    assertRefused(await rawHttp(`${stack.publicUrl}/auth/callback?state=x&code=y`, {headers: {host}}), '/auth/callback')
    assertRefused(await rawHttp(`${stack.publicUrl}/consent?txn=x`, {headers: {host}}), '/consent')
    // Replica heartbeats (kmcp:mcp:{replicas}…) come and go on their own, whatever the requests.
    const added = (await stack.redis.keys()).filter((k) => !before.has(k) && !k.startsWith('kmcp:mcp:{replicas}'))
    assert.deepEqual(added, [], 'a refused request counts nothing and stores nothing')
  })

  test('a foreign Origin is refused on registration and the token endpoint', async () => {
    const origin = 'https://evil.example'
    assertRefused(await rawHttp(`${stack.publicUrl}/register`, {method: 'POST', headers: {origin, 'content-type': 'application/json'}, body: JSON.stringify({redirect_uris: ['http://127.0.0.1:1/cb']})}), '/register')
    assertRefused(await rawHttp(`${stack.publicUrl}/token`, {method: 'POST', headers: {origin, 'content-type': 'application/x-www-form-urlencoded'}, body: 'grant_type=refresh_token&refresh_token=x&client_id=x'}), '/token')
  })

  test('public metadata stays readable cross-origin', async () => {
    const response = await rawHttp(`${stack.publicUrl}/.well-known/oauth-authorization-server`, {headers: {origin: 'https://claude.ai'}})
    assert.equal(response.status, 200)
  })
})
