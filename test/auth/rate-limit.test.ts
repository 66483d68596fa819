// Rate limits of the OAuth facade: counted in the shared store (so replicas share one budget),
// per client address (X-Forwarded-For only from trusted proxies) and per client_id, refused with
// 429 + Retry-After, reset when the window ends. Real kmcp serve, oidc-provider and redis-server.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, test} from 'node:test'
import {kmcpCommand, REPO_ROOT} from '../support/mcp.ts'
import {authorizeUrl, obtainTokens, postForm, registerClient, startAuthStack, writeAuthConfig, type AuthStack} from './helpers.ts'

const REDIRECT = 'http://127.0.0.1:53682/callback'

/** POST /register as the client at `forwardedFor` (an X-Forwarded-For header) or as the socket's peer. */
async function register(origin: string, forwardedFor?: string): Promise<Response> {
  return fetch(`${origin}/register`, {
    method: 'POST',
    headers: {'content-type': 'application/json', ...(forwardedFor ? {'x-forwarded-for': forwardedFor} : {})},
    body: JSON.stringify({client_name: 'rate test', redirect_uris: [REDIRECT]}),
  })
}

async function expectRefused(response: Response, limit: string, windowSeconds: number): Promise<number> {
  assert.equal(response.status, 429, `${limit}: expected 429, got ${response.status} ${await response.clone().text()}`)
  const retryAfter = Number(response.headers.get('retry-after'))
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowSeconds, `Retry-After ${response.headers.get('retry-after')}`)
  const body = (await response.json()) as {error: string; error_description: string}
  assert.equal(body.error, 'temporarily_unavailable')
  assert.match(body.error_description, new RegExp(`rate_limits\\.${limit}`))
  return retryAfter
}

/**
 * Windows are fixed (aligned to the clock), so a burst that must land in one window first waits,
 * at most `needSeconds`, for a window with at least that much time left.
 */
async function freshWindow(windowSeconds: number, needSeconds: number): Promise<void> {
  const left = windowSeconds * 1000 - (Date.now() % (windowSeconds * 1000))
  if (left < needSeconds * 1000) await sleep(left + 50)
}

describe('two replicas behind a trusted proxy, 60 s windows', () => {
  const WINDOW = 60
  let stack: AuthStack
  let origins: string[]

  before(async () => {
    stack = await startAuthStack({
      replicas: 2,
      // The tests play the proxy: they connect from 127.0.0.1 and name the client in X-Forwarded-For.
      extraConfig: {trusted_proxies: ['127.0.0.1'], rate_limits: {window_seconds: WINDOW, register_per_ip: 3, token_per_ip: 8, token_per_client: 3, authorize_per_ip: 4, revoke_per_ip: 2, callback_per_ip: 2, mcp_unauthenticated_per_ip: 3}},
    })
    origins = stack.replicas.map((replica) => replica.baseUrl)
  })

  after(async () => {
    await stack?.stop()
  })

  test('/register: the 4th registration from one address in a window is refused on either replica, and nothing is stored for it', async () => {
    await freshWindow(WINDOW, 10)
    for (const origin of [origins[0], origins[1], origins[0]]) assert.equal((await register(origin, '198.51.100.1')).status, 201)
    const stateBefore = (await stack.redis.keys('mcp:oauth:*')).sort()
    await expectRefused(await register(origins[1], '198.51.100.1'), 'register_per_ip', WINDOW)
    assert.deepEqual((await stack.redis.keys('mcp:oauth:*')).sort(), stateBefore, 'a refused registration stores nothing')
    // Entries left of the trusted proxy's are the client's own words: prepending another address does not escape the limit.
    await expectRefused(await register(origins[0], '198.51.100.2, 198.51.100.1'), 'register_per_ip', WINDOW)
    // Another address has its own budget.
    assert.equal((await register(origins[0], '198.51.100.2')).status, 201)
    // Counters hold no addresses, and one warning was logged for the flood, naming the limit and the address but nothing secret.
    const counters = await stack.redis.keys('mcp:ratelimit:*')
    assert.ok(counters.length > 0 && !counters.some((k) => k.includes('198.51.100')))
    const warnings = stack.replicas.flatMap((replica) => replica.stderr().split('\n')).filter((line) => line.includes('rate limit reached') && line.includes('register_per_ip'))
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.match(warnings[0], /^kmcp warn: .*"client_address":"198\.51\.100\.1"/)
    for (const secret of stack.files.secrets) assert.ok(!warnings[0].includes(secret))
  })

  test('/token: limited per client_id (valid requests only), whatever the address, and per address', async () => {
    await freshWindow(WINDOW, 20)
    const tokens = await obtainTokens(stack.publicUrl)
    const asClient = (origin: string, form: Record<string, string>, forwardedFor?: string) =>
      fetch(`${origin}/token`, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded', ...(forwardedFor ? {'x-forwarded-for': forwardedFor} : {})}, body: new URLSearchParams(form)})
    // Someone who knows the public client_id sends bad refresh tokens: they do not use up the client's budget.
    for (let i = 0; i < 5; i++) assert.equal((await asClient(origins[i % 2], {grant_type: 'refresh_token', refresh_token: `bad-${i}`, client_id: tokens.clientId}, '198.51.100.66')).status, 400)
    // The exchange above was the client's first counted request; two real refreshes reach the limit of 3.
    let refreshToken = tokens.refresh_token
    for (const origin of origins) {
      const response = await asClient(origin, {grant_type: 'refresh_token', refresh_token: refreshToken, client_id: tokens.clientId})
      assert.equal(response.status, 200, await response.clone().text())
      refreshToken = ((await response.json()) as {refresh_token: string}).refresh_token
    }
    await expectRefused(await asClient(origins[1], {grant_type: 'refresh_token', refresh_token: refreshToken, client_id: tokens.clientId}, '198.51.100.77'), 'token_per_client', WINDOW)
    // The refused request was turned away before the refresh token was consumed.
    assert.equal((await stack.redis.keys('mcp:oauth:refresh:*')).length, 1)
    // Another client from the same address is not affected.
    const other = await registerClient(stack.publicUrl)
    assert.equal((await postForm(`${origins[0]}/token`, {grant_type: 'refresh_token', refresh_token: 'not-a-token', client_id: other})).status, 400)

    // Per address: 8 requests (each for a different, unknown client) pass to the endpoint, the 9th is refused.
    const fromAddress = (origin: string) =>
      fetch(`${origin}/token`, {
        method: 'POST',
        headers: {'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.9'},
        body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: 'x', client_id: randomUUID()}),
      })
    for (let i = 0; i < 8; i++) assert.equal((await fromAddress(origins[i % 2])).status, 401)
    await expectRefused(await fromAddress(origins[0]), 'token_per_ip', WINDOW)
  })

  test('/authorize and the consent POST share one per-address budget', async () => {
    await freshWindow(WINDOW, 10)
    const asClient = {'x-forwarded-for': '192.0.2.44'}
    const authorize = (origin: string) => fetch(authorizeUrl(origin, {response_type: 'code', client_id: 'unknown', redirect_uri: REDIRECT}), {headers: asClient, redirect: 'manual'})
    assert.equal((await authorize(origins[0])).status, 400)
    assert.equal((await authorize(origins[1])).status, 400)
    const consent = await fetch(`${origins[0]}/consent`, {method: 'POST', headers: {...asClient, 'content-type': 'application/x-www-form-urlencoded'}, body: 'txn=x&csrf=y&decision=approve', redirect: 'manual'})
    assert.equal(consent.status, 403)
    assert.equal((await authorize(origins[1])).status, 400)
    await expectRefused(await authorize(origins[0]), 'authorize_per_ip', WINDOW)
  })

  test('IPv6 clients are counted per /64: new addresses in the same network do not escape the limit', async () => {
    await freshWindow(WINDOW, 10)
    for (const [i, address] of ['2001:db8:1:2::a', '2001:db8:1:2::b', '2001:db8:1:2:ffff:ffff:ffff:c'].entries()) assert.equal((await register(origins[i % 2], address)).status, 201, address)
    await expectRefused(await register(origins[0], '2001:db8:1:2:1234::1'), 'register_per_ip', WINDOW)
    assert.equal((await register(origins[1], '2001:db8:1:3::1')).status, 201, 'the next /64 is another client')
  })

  test('/revoke, /auth/callback and /mcp without a valid token are rate-limited per address', async () => {
    await freshWindow(WINDOW, 10)
    const from = (address: string) => ({'x-forwarded-for': address})
    const revoke = (origin: string) => fetch(`${origin}/revoke`, {method: 'POST', headers: {...from('198.51.100.90'), 'content-type': 'application/x-www-form-urlencoded'}, body: 'token=x&client_id=nobody'})
    assert.equal((await revoke(origins[0])).status, 401)
    assert.equal((await revoke(origins[1])).status, 401)
    await expectRefused(await revoke(origins[0]), 'revoke_per_ip', WINDOW)
    const callback = (origin: string) => fetch(`${origin}/auth/callback?state=x&code=y`, {headers: from('198.51.100.91'), redirect: 'manual'})
    assert.equal((await callback(origins[0])).status, 400)
    assert.equal((await callback(origins[1])).status, 400)
    await expectRefused(await callback(origins[0]), 'callback_per_ip', WINDOW)
    const mcp = (origin: string, authorization?: string) =>
      fetch(`${origin}/mcp`, {method: 'POST', headers: {...from('198.51.100.92'), 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(authorization ? {authorization} : {})}, body: '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}'})
    assert.equal((await mcp(origins[0])).status, 401)
    assert.equal((await mcp(origins[1], 'Bearer forged.token.here')).status, 401)
    assert.equal((await mcp(origins[0], 'Bearer forged.token.again')).status, 401)
    await expectRefused(await mcp(origins[1]), 'mcp_unauthenticated_per_ip', WINDOW)
  })

  test('Redis unreachable: 503 temporarily_unavailable, never a silent pass', async () => {
    await stack.redis.stop()
    const response = await register(origins[0], '198.51.100.200')
    assert.equal(response.status, 503)
    assert.equal(((await response.json()) as {error: string}).error, 'temporarily_unavailable')
  })
})

describe('one replica on the in-memory store, no trusted proxy, 2 s windows', () => {
  const WINDOW = 2
  let stack: AuthStack

  before(async () => {
    stack = await startAuthStack({withoutRedis: true, extraConfig: {rate_limits: {window_seconds: WINDOW, register_per_ip: 2}}})
  })

  after(async () => {
    await stack?.stop()
  })

  test('X-Forwarded-For from an untrusted peer is ignored, and the counter resets when the window ends', async () => {
    await freshWindow(WINDOW, 1.5)
    assert.equal((await register(stack.publicUrl, '198.51.100.1')).status, 201)
    assert.equal((await register(stack.publicUrl, '198.51.100.2')).status, 201)
    const retryAfter = await expectRefused(await register(stack.publicUrl, '198.51.100.3'), 'register_per_ip', WINDOW)
    await sleep(retryAfter * 1000 + 100)
    assert.equal((await register(stack.publicUrl)).status, 201)
  })
})

describe('configuration', () => {
  let stack: AuthStack

  before(async () => {
    stack = await startAuthStack()
  })

  after(async () => {
    await stack?.stop()
  })

  test('the defaults leave a normal sign-in alone', async () => {
    const tokens = await obtainTokens(stack.publicUrl)
    assert.ok(tokens.access_token)
  })

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['negative limit', {rate_limits: {token_per_client: -1}}, /`rate_limits\.token_per_client` .* must be a whole number/],
    ['zero window', {rate_limits: {window_seconds: 0}}, /`rate_limits\.window_seconds` .* at least 1/],
    ['unknown key', {rate_limits: {register_per_minute: 5}}, /`rate_limits\.register_per_minute` .* is not a setting/],
    ['not a mapping', {rate_limits: 10}, /`rate_limits` .* must be a mapping/],
    ['bad proxy', {trusted_proxies: ['10.0.0.0/33']}, /`trusted_proxies` .*"10\.0\.0\.0\/33"/],
  ]
  for (const [name, extra, message] of bad) {
    test(`kmcp serve refuses to start: ${name}`, () => {
      const files = writeAuthConfig({idp: stack.idp, publicUrl: stack.publicUrl, redisUrl: stack.redis.url, extra})
      const cmd = kmcpCommand('serve', '--transport', 'http', '--host', '127.0.0.1', '--port', '0', '--oidc-config', files.configPath)
      const result = spawnSync(cmd.command, cmd.args, {cwd: REPO_ROOT, encoding: 'utf8', env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp'}, timeout: 30_000})
      assert.equal(result.status, 1, result.stderr)
      // oclif wraps the message over several lines prefixed with ›.
      assert.match(result.stderr.replace(/›/g, '').replace(/\s+/g, ' '), message)
    })
  }
})
