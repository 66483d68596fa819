// Fixed-window rate limits counted in the (here in-memory) store, and the client address behind
// trusted proxies. The clock is node:test's mock timers, so windows are crossed without waiting.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import {test} from 'node:test'
import {RateLimiter} from '../../src/lib/auth/rate-limit.ts'
import type {RateLimits} from '../../src/lib/auth/config.ts'
import {EncryptedStore, storageKeyRing} from '../../src/lib/storage/encrypted.ts'
import {MemoryStore} from '../../src/lib/storage/memory.ts'

const limits: RateLimits = {windowSeconds: 60, registerPerIp: 2, tokenPerIp: 3, tokenPerClient: 3, authorizePerIp: 0, revokePerIp: 0, callbackPerIp: 0, mcpUnauthenticatedPerIp: 0}
const store = () => new EncryptedStore(new MemoryStore(), storageKeyRing([randomBytes(32).toString('base64url')]))
const request = (remoteAddress: string, forwardedFor?: string | string[]) =>
  ({socket: {remoteAddress}, headers: forwardedFor === undefined ? {} : {'x-forwarded-for': forwardedFor}}) as unknown as IncomingMessage

test('a limit allows N requests per window, refuses the next with the seconds left, and resets with the next window', async (t) => {
  t.mock.timers.enable({apis: ['Date'], now: 60_000 * 1000 + 15_000}) // 15 s into a window
  const limiter = new RateLimiter(store(), limits, [])
  assert.equal(await limiter.hit('register_per_ip', '192.0.2.1', {}), undefined)
  assert.equal(await limiter.hit('register_per_ip', '192.0.2.1', {}), undefined)
  assert.deepEqual(await limiter.hit('register_per_ip', '192.0.2.1', {}), {limit: 'register_per_ip', retryAfterSeconds: 45})
  assert.equal(await limiter.hit('register_per_ip', '192.0.2.2', {}), undefined, 'another subject has its own counter')
  assert.equal(await limiter.hit('token_per_ip', '192.0.2.1', {}), undefined, 'another limit has its own counter')
  t.mock.timers.tick(44_500)
  assert.deepEqual(await limiter.hit('register_per_ip', '192.0.2.1', {}), {limit: 'register_per_ip', retryAfterSeconds: 1}, 'never less than one second')
  t.mock.timers.tick(1_000) // the next window
  assert.equal(await limiter.hit('register_per_ip', '192.0.2.1', {}), undefined)
})

test('a limit of 0 is off', async () => {
  const limiter = new RateLimiter(store(), limits, [])
  for (let i = 0; i < 50; i++) assert.equal(await limiter.hit('authorize_per_ip', '192.0.2.1', {}), undefined)
})

test('without trusted proxies the socket peer is the client, whatever X-Forwarded-For says', () => {
  const limiter = new RateLimiter(store(), limits, [])
  assert.equal(limiter.clientAddress(request('203.0.113.9', '198.51.100.1')), '203.0.113.9')
  assert.equal(limiter.clientAddress(request('::ffff:203.0.113.9')), '203.0.113.9', 'IPv4-mapped IPv6 is the IPv4 address')
})

test('behind trusted proxies X-Forwarded-For is read from the right up to the first untrusted hop', () => {
  const limiter = new RateLimiter(store(), limits, ['10.0.0.0/8', '192.0.2.7', 'fd00::/8'])
  assert.equal(limiter.clientAddress(request('10.1.2.3', '198.51.100.1, 10.9.9.9')), '198.51.100.1')
  assert.equal(limiter.clientAddress(request('10.1.2.3', 'spoofed-by-client, 203.0.113.5, 198.51.100.1')), '198.51.100.1', 'entries left of the first untrusted hop are ignored')
  assert.equal(limiter.clientAddress(request('10.1.2.3', ['203.0.113.5', '192.0.2.7'])), '203.0.113.5', 'repeated headers are joined')
  assert.equal(limiter.clientAddress(request('fd00::1', '2001:db8::5')), '2001:db8::5')
  assert.equal(limiter.clientAddress(request('10.1.2.3')), '10.1.2.3', 'no header: the proxy itself')
  assert.equal(limiter.clientAddress(request('10.1.2.3', 'not-an-address')), '10.1.2.3', 'garbage stops the walk')
  assert.equal(limiter.clientAddress(request('203.0.113.9', '198.51.100.1')), '203.0.113.9', 'an untrusted peer cannot forward')
})
