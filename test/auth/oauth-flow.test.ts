// The whole OAuth 2.1 flow against real parts: kmcp serve (HTTP, auth0 mode) in front of a real
// OpenID provider, tokens in a real redis-server, and the MCP SDK's own client doing discovery,
// registration, authorization with PKCE, the token exchange, tool calls and the refresh.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {deleteNamespace} from '../support/kube.ts'
import {callTool, textOf, type HttpServerProcess} from '../support/mcp.ts'
import type {TestIdentityProvider} from '../support/oidc.ts'
import type {TestRedis} from '../support/redis.ts'
import {userIdFor} from '../../src/lib/auth/user-hash.ts'
import {MemoryOAuthClient, cnpgNamespace, signInAndConnect, startAuthStack, type AuthFiles, type AuthStack} from './helpers.ts'

let stack: AuthStack
let redis: TestRedis
let idp: TestIdentityProvider
let kmcp: HttpServerProcess
let files: AuthFiles
let publicUrl: string
let namespace: string

before(async () => {
  namespace = await cnpgNamespace('auth-flow')
  stack = await startAuthStack()
  ;({redis, idp, files, publicUrl} = stack)
  kmcp = stack.replicas[0]
})

after(async () => {
  await stack?.stop()
  if (namespace) await deleteNamespace(namespace)
})


describe('OAuth metadata and challenges', () => {
  test('protected resource metadata at the path-specific and root URLs', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const response = await fetch(`${publicUrl}${path}`)
      assert.equal(response.status, 200, path)
      const body = (await response.json()) as Record<string, unknown>
      assert.equal(body.resource, `${publicUrl}/mcp`)
      assert.deepEqual(body.authorization_servers, [publicUrl])
      assert.deepEqual(body.bearer_methods_supported, ['header'])
      assert.ok(!(body.scopes_supported as string[]).includes('offline_access'))
    }
  })

  test('authorization server metadata and its OpenID alias', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const body = (await (await fetch(`${publicUrl}${path}`)).json()) as Record<string, unknown>
      assert.equal(body.issuer, publicUrl)
      assert.deepEqual(body.code_challenge_methods_supported, ['S256'])
      assert.equal(body.registration_endpoint, `${publicUrl}/register`)
      assert.equal(body.authorization_response_iss_parameter_supported, true)
      assert.deepEqual(body.grant_types_supported, ['authorization_code', 'refresh_token'])
    }
  })

  test('/mcp without a token: 401 with resource_metadata and scope; CORS preflight needs no token', async () => {
    const response = await fetch(`${publicUrl}/mcp`, {method: 'POST', headers: {'content-type': 'application/json'}, body: '{}'})
    assert.equal(response.status, 401)
    const challenge = response.headers.get('www-authenticate') ?? ''
    assert.match(challenge, /^Bearer /)
    assert.match(challenge, new RegExp(`resource_metadata="${publicUrl}/\\.well-known/oauth-protected-resource/mcp"`))
    assert.match(challenge, /scope="kmcp"/)
    // A browser client on an allowed origin (here a loopback one) passes the preflight; a foreign
    // origin does not (DNS-rebinding and cross-site protection; --allowed-origins adds origins).
    const preflight = await fetch(`${publicUrl}/mcp`, {method: 'OPTIONS', headers: {origin: 'http://localhost:6274', 'access-control-request-method': 'POST'}})
    assert.equal(preflight.status, 204)
    const foreign = await fetch(`${publicUrl}/mcp`, {method: 'OPTIONS', headers: {origin: 'https://app.example', 'access-control-request-method': 'POST'}})
    assert.equal(foreign.status, 403)
  })

  test('/readyz reports Redis and the identity provider', async () => {
    const response = await fetch(`${publicUrl}/readyz`)
    const body = (await response.json()) as {checks: Array<{name: string; ok: boolean}>}
    assert.ok(body.checks.some((c) => c.name === 'redis' && c.ok), JSON.stringify(body))
    assert.ok(body.checks.some((c) => c.name === 'identity-provider' && c.ok), JSON.stringify(body))
  })
})

describe('sign-in with the SDK client', () => {
  test('discovery, registration, consent, upstream login, token, tool call, refresh, revoke', async () => {
    idp.signInAs('alice')
    const provider = new MemoryOAuthClient()
    const client = await signInAndConnect(kmcp.url, provider)
    const tokens = provider.tokens()
    assert.ok(tokens?.access_token && tokens.refresh_token, 'access and refresh tokens issued')
    // kmcp's own token, never the upstream one.
    const [header] = tokens.access_token.split('.')
    assert.equal(JSON.parse(Buffer.from(header, 'base64url').toString()).typ, 'at+jwt')
    const result = await callTool(client, 'list_postgres_clusters', {namespace})
    assert.ok(!result.isError, textOf(result))

    // Stored state: encrypted, nothing readable, no token in a key name.
    const keys = await redis.keys('mcp:oauth:*')
    assert.ok(keys.some((k) => k.startsWith('mcp:oauth:client:')))
    assert.ok(keys.some((k) => k.startsWith('mcp:oauth:grant:')))
    assert.ok(!keys.some((k) => k.startsWith('mcp:oauth:txn:')), 'the transaction is consumed')
    assert.ok(!keys.some((k) => k.startsWith('mcp:oauth:code:')), 'the code is consumed')
    for (const key of keys) {
      const value = await redis.command('GET', key)
      assert.match(value, /^v1\./, `${key} is encrypted`)
      assert.ok(!value.includes('alice'), `${key} leaks the user name`)
      assert.ok(!key.includes(tokens.refresh_token))
    }

    // Refresh: a stale access token makes the SDK refresh (rotation) and retry transparently.
    const oldRefresh = tokens.refresh_token
    provider.saveTokens({...tokens, access_token: tokens.access_token.slice(0, -4) + 'AAAA'})
    const again = await callTool(client, 'list_postgres_clusters', {namespace})
    assert.ok(!again.isError, textOf(again))
    const rotated = provider.tokens()!
    assert.notEqual(rotated.refresh_token, oldRefresh, 'the refresh token rotated')
    const reuse = await fetch(`${publicUrl}/token`, {
      method: 'POST',
      headers: {'content-type': 'application/x-www-form-urlencoded'},
      body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: oldRefresh, client_id: provider.clientInformation()!.client_id}),
    })
    assert.equal(reuse.status, 400)
    assert.equal(((await reuse.json()) as {error: string}).error, 'invalid_grant')

    // Identity: the user id derived from the upstream identity is in the audit log.
    const expectedUser = userIdFor({preferred_username: 'alice'}, idp.issuer)
    assert.match(expectedUser, /^alice-[a-z0-9]{6}$/)
    assert.match(kmcp.stderr(), new RegExp(`user signed in.*${expectedUser}`))

    // Revocation ends the grant: the access token stops working at once.
    const revoke = await fetch(`${publicUrl}/revoke`, {
      method: 'POST',
      headers: {'content-type': 'application/x-www-form-urlencoded'},
      body: new URLSearchParams({token: rotated.refresh_token!, client_id: provider.clientInformation()!.client_id}),
    })
    assert.equal(revoke.status, 200)
    const afterRevoke = await fetch(kmcp.url, {
      method: 'POST',
      headers: {authorization: `Bearer ${rotated.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream'},
      body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 't', version: '1'}}}),
    })
    assert.equal(afterRevoke.status, 401)
    await client.close()
  })

  test('no token, code or secret appears in the logs', () => {
    const logs = kmcp.stderr()
    for (const secret of files.secrets) assert.ok(!logs.includes(secret), 'a configured secret was logged')
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(logs), 'a JWT was logged')
    assert.ok(!/[?&](code|refresh_token|access_token)=/.test(logs), 'a code or token parameter was logged')
  })
})
