// Attacks and mistakes the OAuth facade must refuse, each with the right status and nothing
// stored. Real kmcp serve, real oidc-provider, real redis-server.
import assert from 'node:assert/strict'
import {createPublicKey} from 'node:crypto'
import {after, before, beforeEach, describe, test} from 'node:test'
import {SignJWT, decodeJwt, generateKeyPair} from 'jose'
import type {HttpServerProcess} from '../support/mcp.ts'
import type {TestIdentityProvider} from '../support/oidc.ts'
import type {TestRedis} from '../support/redis.ts'
import {signingKeyFrom} from '../../src/lib/auth/config.ts'
import {Browser, authorizeUrl, consentFields, initializeWith, obtainCode, obtainTokens, pkcePair, postForm, registerClient, startStackForAttacks, storesNothing, waitUntil, type AuthFiles, type AuthStack} from './helpers.ts'

let stack: AuthStack
let redis: TestRedis
let idp: TestIdentityProvider
let kmcp: HttpServerProcess
let files: AuthFiles
let publicUrl: string
let mcpUrl: string
const REDIRECT = 'http://127.0.0.1:53682/callback'

before(async () => {
  stack = await startStackForAttacks()
  ;({redis, idp, files, publicUrl} = stack)
  kmcp = stack.replicas[0]
  mcpUrl = `${publicUrl}/mcp`
})

after(async () => {
  await stack?.stop()
})

describe('access tokens presented to /mcp', () => {
  let valid: {clientId: string; access_token: string; refresh_token: string}
  const key = () => Buffer.from(files.signingKeyHex, 'hex')
  const kid = () => signingKeyFrom(files.signingKeyHex).kid

  before(async () => {
    valid = await obtainTokens(publicUrl)
  })

  /** The valid token's claims re-signed with kmcp's key, with `change` applied. */
  async function forge(change: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
    const claims = {...decodeJwt(valid.access_token), ...change}
    return new SignJWT(claims).setProtectedHeader({alg: 'HS256', typ: 'at+jwt', kid: kid(), ...header}).sign(key())
  }

  /** kmcp's audit lines for refused MCP requests so far. */
  const refusals = () =>
    kmcp
      .stderr()
      .split('\n')
      .filter((line) => line.includes('"kind":"audit"') && line.includes('"event":"mcp_unauthorized"'))

  async function expect401(token: string | undefined, what: string): Promise<void> {
    const audited = refusals().length
    await storesNothing(redis, async () => {
      const response = await initializeWith(mcpUrl, token === undefined ? undefined : `Bearer ${token}`)
      assert.equal(response.status, 401, what)
      const challenge = response.headers.get('www-authenticate') ?? ''
      assert.match(challenge, /resource_metadata="/, what)
      if (token !== undefined) assert.match(challenge, /error="invalid_token"/, what)
    })
    // Every refusal leaves one audit line with its reason, never the token.
    await waitUntil(() => refusals().length > audited, `an audit line for: ${what}`)
    const line = JSON.parse(refusals().at(-1)!) as Record<string, unknown>
    assert.equal(line.result, 'refused', what)
    assert.equal(line.reason, token === undefined ? 'no_token' : 'invalid_token', what)
    if (token !== undefined) assert.ok(!JSON.stringify(line).includes(token.split('.')[1] ?? token), `${what}: the token is not logged`)
  }

  test('control: the real token and an identical re-signed one are accepted', async () => {
    assert.equal((await initializeWith(mcpUrl, `Bearer ${valid.access_token}`)).status, 200)
    assert.equal((await initializeWith(mcpUrl, `Bearer ${await forge({})}`)).status, 200)
  })

  test('no token', () => expect401(undefined, 'no token'))
  test('expired', async () => expect401(await forge({exp: Math.floor(Date.now() / 1000) - 120, iat: Math.floor(Date.now() / 1000) - 3720}), 'expired'))
  test('wrong audience', async () => expect401(await forge({aud: 'https://other-server.example/mcp'}), 'wrong audience'))
  test('wrong issuer', async () => expect401(await forge({iss: idp.issuer}), 'wrong issuer'))
  test('bad signature', async () => {
    const [h, p, s] = valid.access_token.split('.')
    const flipped = (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
    await expect401(`${h}.${p}.${flipped}`, 'bad signature')
    await expect401(await new SignJWT(decodeJwt(valid.access_token)).setProtectedHeader({alg: 'HS256', typ: 'at+jwt', kid: kid()}).sign(Buffer.alloc(32, 7)), 'other key')
  })
  test('alg none', async () => {
    const header = Buffer.from(JSON.stringify({alg: 'none', typ: 'at+jwt', kid: kid()})).toString('base64url')
    const payload = valid.access_token.split('.')[1]
    await expect401(`${header}.${payload}.`, 'alg none')
  })
  test('HS/RS confusion: HS256 keyed with the identity provider public key, and an RS256 token', async () => {
    const pem = createPublicKey({key: idp.publicJwk, format: 'jwk'}).export({type: 'spki', format: 'pem'}) as string
    const confused = await new SignJWT(decodeJwt(valid.access_token)).setProtectedHeader({alg: 'HS256', typ: 'at+jwt', kid: 'test-rs256'}).sign(Buffer.from(pem))
    await expect401(confused, 'HS256 with the public key')
    const {privateKey} = await generateKeyPair('RS256')
    const rs = await new SignJWT(decodeJwt(valid.access_token)).setProtectedHeader({alg: 'RS256', typ: 'at+jwt', kid: kid()}).sign(privateKey)
    await expect401(rs, 'RS256')
  })
  test('wrong token type and a token in the query string', async () => {
    await expect401(await forge({}, {typ: 'JWT'}), 'typ JWT')
    await storesNothing(redis, async () => {
      const response = await initializeWith(`${mcpUrl}?access_token=${encodeURIComponent(valid.access_token)}`, undefined)
      assert.equal(response.status, 401)
    })
  })
  test('a token bound to an unknown grant', async () => expect401(await forge({gid: 'no-such-grant'}), 'unknown grant'))
  test('insufficient scope: 403 insufficient_scope', async () => {
    const response = await initializeWith(mcpUrl, `Bearer ${await forge({scope: 'something-else'})}`)
    assert.equal(response.status, 403)
    assert.match(response.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/)
    assert.match(response.headers.get('www-authenticate') ?? '', /scope="kmcp"/)
  })
})

describe('authorization requests', () => {
  let clientId: string
  beforeEach(async () => {
    clientId = await registerClient(publicUrl, REDIRECT)
  })
  const base = (extra: Record<string, string | undefined> = {}) => ({response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, code_challenge: pkcePair().challenge, code_challenge_method: 'S256', state: 's', ...extra})

  /** RFC 9700 §4.11.2: a refused request is answered on kmcp's own page, never redirected to the client. */
  async function expectErrorPage(extra: Record<string, string | undefined>, what: string, code: string): Promise<void> {
    await storesNothing(redis, async () => {
      const response = await fetch(authorizeUrl(publicUrl, base(extra)), {redirect: 'manual'})
      assert.equal(response.status, 400, what)
      assert.equal(response.headers.get('location'), null, `${what}: never redirected (open redirect)`)
      assert.match(await response.text(), new RegExp(code), what)
    })
  }

  test('PKCE missing or not S256: an error page, no redirect, nothing stored', async () => {
    for (const extra of [{code_challenge: undefined, code_challenge_method: undefined}, {code_challenge_method: 'plain'}, {code_challenge_method: undefined}, {code_challenge: 'short'}]) {
      await expectErrorPage(extra, JSON.stringify(extra), 'invalid_request')
    }
  })

  test('open redirect through a registered https redirect_uri: invalid requests are never sent there', async () => {
    const attacker = 'https://attacker.example/landing'
    const evilClient = await registerClient(publicUrl, attacker)
    for (const extra of [{response_type: 'token'}, {code_challenge: undefined}, {scope: 'admin'}, {resource: 'https://other.example/mcp'}]) {
      await storesNothing(redis, async () => {
        const response = await fetch(authorizeUrl(publicUrl, {...base(extra), client_id: evilClient, redirect_uri: attacker}), {redirect: 'manual'})
        assert.equal(response.status, 400, JSON.stringify(extra))
        assert.equal(response.headers.get('location'), null, JSON.stringify(extra))
      })
    }
  })

  test('unsupported response_type and an oversized state: an error page', async () => {
    await expectErrorPage({response_type: 'token'}, 'implicit flow', 'unsupported_response_type')
    await expectErrorPage({state: 's'.repeat(1001)}, 'long state', 'invalid_request')
  })

  test("another client's redirect_uri: 400, never redirected", async () => {
    const other = await registerClient(publicUrl, 'http://127.0.0.1:53682/other-app')
    await storesNothing(redis, async () => {
      const response = await fetch(authorizeUrl(publicUrl, base({client_id: other, redirect_uri: REDIRECT})), {redirect: 'manual'})
      assert.equal(response.status, 400)
      assert.equal(response.headers.get('location'), null)
    })
  })

  test('unregistered redirect_uri and open-redirect attempts: 400, never redirected', async () => {
    const attempts = [
      'https://evil.example/callback',
      'http://127.0.0.1.evil.example:53682/callback',
      'http://127.0.0.1:53682@evil.example/callback',
      'http://evil.example@127.0.0.1:53682/callback',
      'http://127.0.0.1:53682/callback/../evil',
      'http://127.0.0.1:53682/other',
      'http://127.0.0.1:53682/callback?next=https://evil.example',
      'http://localhost:53682/callback',
      'javascript:alert(1)',
      '//evil.example/callback',
    ]
    for (const redirectUri of attempts) {
      await storesNothing(redis, async () => {
        const response = await fetch(authorizeUrl(publicUrl, base({redirect_uri: redirectUri})), {redirect: 'manual'})
        assert.equal(response.status, 400, redirectUri)
        assert.equal(response.headers.get('location'), null, redirectUri)
      })
    }
  })

  test('unknown client: 400, never redirected', async () => {
    await storesNothing(redis, async () => {
      const response = await fetch(authorizeUrl(publicUrl, base({client_id: 'not-registered'})), {redirect: 'manual'})
      assert.equal(response.status, 400)
      assert.equal(response.headers.get('location'), null)
    })
  })

  test('a resource for another server: invalid_target at /authorize and at /token', async () => {
    await expectErrorPage({resource: 'https://other-server.example/mcp'}, 'resource', 'invalid_target')
    const {code, verifier} = await obtainCode(publicUrl, clientId)
    await storesNothing(redis, async () => {
      const response = await postForm(`${publicUrl}/token`, {grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId, redirect_uri: REDIRECT, resource: 'https://other-server.example/mcp'})
      assert.equal(response.status, 400)
      assert.equal(((await response.json()) as {error: string}).error, 'invalid_target')
    })
  })

  test('a replayed authorization code: invalid_grant', async () => {
    const {code, verifier} = await obtainCode(publicUrl, clientId)
    const form = {grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId, redirect_uri: REDIRECT}
    assert.equal((await postForm(`${publicUrl}/token`, form)).status, 200)
    await storesNothing(redis, async () => {
      const replay = await postForm(`${publicUrl}/token`, form)
      assert.equal(replay.status, 400)
      assert.equal(((await replay.json()) as {error: string}).error, 'invalid_grant')
    })
  })

  test('PKCE at the token endpoint: missing verifier, wrong verifier', async () => {
    const first = await obtainCode(publicUrl, clientId)
    await storesNothing(redis, async () => {
      const missing = await postForm(`${publicUrl}/token`, {grant_type: 'authorization_code', code: first.code, client_id: clientId, redirect_uri: REDIRECT})
      assert.equal(missing.status, 400)
      assert.equal(((await missing.json()) as {error: string}).error, 'invalid_request')
    })
    const second = await obtainCode(publicUrl, clientId)
    await storesNothing(redis, async () => {
      const wrong = await postForm(`${publicUrl}/token`, {grant_type: 'authorization_code', code: second.code, code_verifier: pkcePair().verifier, client_id: clientId, redirect_uri: REDIRECT})
      assert.equal(wrong.status, 400)
      assert.equal(((await wrong.json()) as {error: string}).error, 'invalid_grant')
    })
    // The code is burnt by the failed attempt: the right verifier no longer helps.
    const late = await postForm(`${publicUrl}/token`, {grant_type: 'authorization_code', code: second.code, code_verifier: second.verifier, client_id: clientId, redirect_uri: REDIRECT})
    assert.equal(late.status, 400)
  })

  test('consent CSRF: wrong token, missing cookie, foreign origin are refused and nothing goes upstream', async () => {
    const browser = new Browser()
    const start = await browser.request(authorizeUrl(publicUrl, base()))
    assert.equal(start.status, 302)
    const consentUrl = new URL(start.headers.get('location')!, publicUrl).toString()
    const page = await browser.request(consentUrl)
    assert.equal(page.status, 200)
    assert.equal(page.headers.get('x-frame-options'), 'DENY')
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/)
    const fields = consentFields(await page.text())
    const consentPost = `${publicUrl}/consent`
    await storesNothing(redis, async () => {
      const wrongToken = await browser.request(consentPost, {method: 'POST', form: {...fields, csrf: 'forged', decision: 'approve'}})
      assert.equal(wrongToken.status, 403)
      const noCookie = await fetch(consentPost, {method: 'POST', redirect: 'manual', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams({...fields, decision: 'approve'})})
      assert.equal(noCookie.status, 403)
      const foreign = await browser.request(consentPost, {method: 'POST', form: {...fields, decision: 'approve'}, headers: {origin: 'https://evil.example'}})
      assert.equal(foreign.status, 403)
    })
    // A callback that did not start in this browser (no binding cookie) is refused.
    const stranger = await fetch(`${publicUrl}/auth/callback?state=${encodeURIComponent(fields.txn)}&code=x`, {redirect: 'manual'})
    assert.equal(stranger.status, 400)
    // The genuine submission still works afterwards.
    const approved = await browser.request(consentPost, {method: 'POST', form: {...fields, decision: 'approve'}})
    assert.equal(approved.status, 302)
    assert.ok(approved.headers.get('location')!.startsWith(idp.issuer))
  })

  test('deny on the consent page returns access_denied to the client', async () => {
    const back = await new Browser().signIn(authorizeUrl(publicUrl, base()), REDIRECT, {decision: 'deny'})
    assert.equal(back.searchParams.get('error'), 'access_denied')
    assert.equal(back.searchParams.get('state'), 's')
  })
})

describe('client registration', () => {
  test('oversized bodies: 413, nothing stored', async () => {
    await storesNothing(redis, async () => {
      const response = await fetch(`${publicUrl}/register`, {
        method: 'POST',
        headers: {'content-type': 'application/json'},
        body: JSON.stringify({client_name: 'x', redirect_uris: [REDIRECT], padding: 'p'.repeat(64 * 1024)}),
      })
      assert.equal(response.status, 413)
    })
  })

  test('unsafe redirect URIs and too many of them: 400, nothing stored', async () => {
    for (const uris of [['http://evil.example/callback'], ['javascript:alert(1)'], ['https://ok.example/cb#frag'], Array.from({length: 11}, (_, i) => `https://ok.example/${i}`), []]) {
      await storesNothing(redis, async () => {
        const response = await fetch(`${publicUrl}/register`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({redirect_uris: uris})})
        assert.equal(response.status, 400, JSON.stringify(uris))
      })
    }
  })

  test('clients are public: no secret is issued', async () => {
    const response = await fetch(`${publicUrl}/register`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_post'})})
    assert.equal(response.status, 201)
    const body = (await response.json()) as Record<string, unknown>
    assert.equal(body.token_endpoint_auth_method, 'none')
    assert.equal(body.client_secret, undefined)
  })
})

describe('MCP sessions across users', () => {
  test("another user's session id: 403, and the session goes on for its owner", async () => {
    idp.signInAs('alice')
    const alice = await obtainTokens(publicUrl)
    idp.signInAs('bob')
    const bob = await obtainTokens(publicUrl)
    idp.signInAs('alice')
    const opened = await initializeWith(mcpUrl, `Bearer ${alice.access_token}`)
    const sessionId = opened.headers.get('mcp-session-id')!
    assert.ok(sessionId)
    const list = (token: string) => fetch(mcpUrl, {method: 'POST', headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25'}, body: JSON.stringify({jsonrpc: '2.0', id: 2, method: 'tools/list'})})
    const hijack = await list(bob.access_token)
    assert.equal(hijack.status, 403)
    assert.equal((await list(alice.access_token)).status, 200)
  })

  test('a token in another authorization scheme or with a forged grant of another client: 401', async () => {
    const tokens = await obtainTokens(publicUrl)
    assert.equal((await initializeWith(mcpUrl, `Basic ${Buffer.from(`x:${tokens.access_token}`).toString('base64')}`)).status, 401)
    assert.equal((await initializeWith(mcpUrl, `Bearer ${tokens.access_token} extra`)).status, 401)
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
