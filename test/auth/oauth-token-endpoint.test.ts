// The OAuth facade's token endpoint under attack and misuse: how clients are identified, replayed
// codes and refresh tokens (OAuth 2.1 §4.3.1), malformed and cross-client requests. Each refusal has
// the right status and stores nothing. Real kmcp serve, real oidc-provider, real redis-server.
// (The other refusals — access tokens at /mcp, authorization requests, registration — are in
// oauth-negative.test.ts.)
import assert from 'node:assert/strict'
import {after, before, beforeEach, describe, test} from 'node:test'
import type {HttpServerProcess} from '../support/mcp.ts'
import type {TestRedis} from '../support/redis.ts'
import {initializeWith, obtainCode, obtainTokens, postForm, registerClient, startStackForAttacks, storesNothing, waitUntil, type AuthFiles, type AuthStack} from './helpers.ts'

let stack: AuthStack
let redis: TestRedis
let kmcp: HttpServerProcess
let files: AuthFiles
let publicUrl: string
let mcpUrl: string
const REDIRECT = 'http://127.0.0.1:53682/callback'

before(async () => {
  stack = await startStackForAttacks()
  ;({redis, files, publicUrl} = stack)
  kmcp = stack.replicas[0]
  mcpUrl = `${publicUrl}/mcp`
})

after(async () => {
  await stack?.stop()
})

describe('token endpoint client identification', () => {
  test('Basic credentials name the client (the secret is ignored); a different client_id in the body is refused', async () => {
    const tokens = await obtainTokens(publicUrl)
    const basic = (id: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:whatever`).toString('base64')}`
    const mismatch = await fetch(`${publicUrl}/token`, {
      method: 'POST',
      headers: {'content-type': 'application/x-www-form-urlencoded', authorization: basic('someone-else')},
      body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: tokens.clientId}),
    })
    assert.equal(mismatch.status, 401)
    const viaBasic = await fetch(`${publicUrl}/token`, {
      method: 'POST',
      headers: {'content-type': 'application/x-www-form-urlencoded', authorization: basic(tokens.clientId)},
      body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: tokens.refresh_token}),
    })
    assert.equal(viaBasic.status, 200)
  })
})

describe('replay of codes and refresh tokens (OAuth 2.1 §4.3.1)', () => {
  const auditLines = (event: string) =>
    kmcp
      .stderr()
      .split('\n')
      .filter((line) => line.includes('"kind":"audit"') && line.includes(event))

  test('a replayed authorization code revokes the grant it produced, with an audit line', async () => {
    const clientId = await registerClient(publicUrl, REDIRECT)
    const {code, verifier} = await obtainCode(publicUrl, clientId)
    const form = {grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId, redirect_uri: REDIRECT}
    const first = await postForm(`${publicUrl}/token`, form)
    assert.equal(first.status, 200)
    const tokens = (await first.json()) as {access_token: string; refresh_token: string}
    assert.equal((await initializeWith(mcpUrl, `Bearer ${tokens.access_token}`)).status, 200)
    const before = auditLines('oauth_replay').length
    const replay = await postForm(`${publicUrl}/token`, form)
    assert.equal(replay.status, 400)
    assert.equal(((await replay.json()) as {error: string}).error, 'invalid_grant')
    // Whoever redeemed the code first (maybe the attacker) loses the session too.
    await waitUntil(async () => (await initializeWith(mcpUrl, `Bearer ${tokens.access_token}`)).status === 401, 'the access token from the replayed code is dead')
    assert.equal((await postForm(`${publicUrl}/token`, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId})).status, 400)
    await waitUntil(() => auditLines('oauth_replay').length > before, 'an audit line for the replay')
    const line = JSON.parse(auditLines('oauth_replay').at(-1)!) as Record<string, unknown>
    assert.equal(line.credential, 'authorization_code')
    assert.equal(line.result, 'grant revoked')
    assert.ok(!JSON.stringify(line).includes(code), 'the code itself is not logged')
  })

  test('a rotated-out refresh token used again revokes the whole grant, the new tokens included', async () => {
    const tokens = await obtainTokens(publicUrl)
    const rotate = (refresh: string) => postForm(`${publicUrl}/token`, {grant_type: 'refresh_token', refresh_token: refresh, client_id: tokens.clientId})
    const second = await rotate(tokens.refresh_token)
    assert.equal(second.status, 200)
    const fresh = (await second.json()) as {access_token: string; refresh_token: string}
    // The old refresh token comes back (stolen copy): the grant ends.
    const reuse = await rotate(tokens.refresh_token)
    assert.equal(reuse.status, 400)
    assert.equal((await rotate(fresh.refresh_token)).status, 400, 'the newest refresh token dies with the grant')
    await waitUntil(async () => (await initializeWith(mcpUrl, `Bearer ${fresh.access_token}`)).status === 401, 'the newest access token is dead')
    assert.ok(auditLines('oauth_replay').some((l) => l.includes('"credential":"refresh_token"')))
  })
})

describe('token endpoint abuse', () => {
  let clientId: string
  beforeEach(async () => {
    clientId = await registerClient(publicUrl, REDIRECT)
  })
  const tokenError = async (response: Response) => ((await response.json()) as {error: string}).error

  test('code_verifier too short, too long or with characters outside RFC 7636: invalid_request', async () => {
    for (const verifier of ['short', 'a'.repeat(129), `${'a'.repeat(43)} `, `${'a'.repeat(42)}/`]) {
      const {code} = await obtainCode(publicUrl, clientId)
      await storesNothing(redis, async () => {
        const response = await postForm(`${publicUrl}/token`, {grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId, redirect_uri: REDIRECT})
        assert.equal(response.status, 400, verifier)
        assert.equal(await tokenError(response), 'invalid_request', verifier)
      })
    }
  })

  test('redirect_uri missing or different at /token: refused', async () => {
    const first = await obtainCode(publicUrl, clientId)
    const missing = await postForm(`${publicUrl}/token`, {grant_type: 'authorization_code', code: first.code, code_verifier: first.verifier, client_id: clientId})
    assert.equal(missing.status, 400)
    assert.equal(await tokenError(missing), 'invalid_request')
    const second = await obtainCode(publicUrl, clientId)
    const other = await postForm(`${publicUrl}/token`, {grant_type: 'authorization_code', code: second.code, code_verifier: second.verifier, client_id: clientId, redirect_uri: 'http://127.0.0.1:53682/elsewhere'})
    assert.equal(other.status, 400)
    assert.equal(await tokenError(other), 'invalid_grant')
  })

  test("a code issued to one client, redeemed by another: invalid_grant", async () => {
    const {code, verifier} = await obtainCode(publicUrl, clientId)
    const thief = await registerClient(publicUrl, REDIRECT)
    await storesNothing(redis, async () => {
      const response = await postForm(`${publicUrl}/token`, {grant_type: 'authorization_code', code, code_verifier: verifier, client_id: thief, redirect_uri: REDIRECT})
      assert.equal(response.status, 400)
      assert.equal(await tokenError(response), 'invalid_grant')
    })
  })

  test("a refresh token used by another client: invalid_grant", async () => {
    const tokens = await obtainTokens(publicUrl)
    const response = await postForm(`${publicUrl}/token`, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId})
    assert.equal(response.status, 400)
    assert.equal(await tokenError(response), 'invalid_grant')
  })

  test('unknown client with Basic credentials: 401 invalid_client with WWW-Authenticate', async () => {
    for (const path of ['/token', '/revoke']) {
      const response = await fetch(`${publicUrl}${path}`, {
        method: 'POST',
        headers: {'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('no-such-client:secret').toString('base64')}`},
        body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: 'x', token: 'x'}),
      })
      assert.equal(response.status, 401, path)
      assert.equal(await tokenError(response), 'invalid_client', path)
      assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm="kmcp"/, path)
    }
  })

  test('grant types kmcp does not offer (password, client_credentials, implicit): unsupported_grant_type', async () => {
    for (const grantType of ['password', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code']) {
      await storesNothing(redis, async () => {
        const response = await postForm(`${publicUrl}/token`, {grant_type: grantType, client_id: clientId, username: 'admin', password: 'admin'})
        assert.equal(response.status, 400, grantType)
        assert.equal(await tokenError(response), 'unsupported_grant_type', grantType)
      })
    }
  })

  test('a repeated parameter, a JSON body, an oversized form: refused', async () => {
    const repeated = await fetch(`${publicUrl}/token`, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: `grant_type=authorization_code&code=a&code=b&client_id=${clientId}&code_verifier=${'a'.repeat(43)}`})
    assert.equal(repeated.status, 400)
    assert.equal(await tokenError(repeated), 'invalid_request')
    const json = await fetch(`${publicUrl}/token`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({grant_type: 'refresh_token', client_id: clientId})})
    assert.equal(json.status, 400)
    const big = await fetch(`${publicUrl}/token`, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: `grant_type=refresh_token&client_id=${clientId}&pad=${'x'.repeat(20_000)}`})
    assert.equal(big.status, 413)
  })

  test("revoking another client's token does nothing", async () => {
    const tokens = await obtainTokens(publicUrl)
    const response = await postForm(`${publicUrl}/revoke`, {token: tokens.refresh_token, client_id: clientId})
    assert.equal(response.status, 200, 'RFC 7009: no information for the caller')
    assert.equal((await initializeWith(mcpUrl, `Bearer ${tokens.access_token}`)).status, 200, 'the grant is untouched')
  })
})

describe('logs', () => {
  test('no token, code or secret in any log line', () => {
    const logs = kmcp.stderr()
    for (const secret of files.secrets) assert.ok(!logs.includes(secret), 'a configured secret was logged')
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(logs), 'a JWT was logged')
    assert.ok(!/[?&](code|refresh_token|access_token|code_verifier)=/.test(logs), 'a code or token parameter was logged')
  })
})
