// Parsing of the OAuth/OIDC configuration's rate_limits and trusted_proxies, and its URL rules.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, test} from 'node:test'
import {stringify} from 'yaml'
import {AuthConfigError, loadAuthConfig} from '../../src/lib/auth/config.ts'

const dir = mkdtempSync(join(tmpdir(), 'kmcp-unit-config-'))
after(() => rmSync(dir, {recursive: true, force: true}))
writeFileSync(join(dir, 'jwt'), randomBytes(32).toString('hex'))
writeFileSync(join(dir, 'storage'), randomBytes(32).toString('base64url'))
writeFileSync(join(dir, 'secret'), 's3cret')

const base = {
  auth_type: 'oidc',
  issuer: 'https://idp.example.com/realms/main',
  client_id: 'kmcp',
  client_secret_file: join(dir, 'secret'),
  jwt_signing_key_file: join(dir, 'jwt'),
  storage_encryption_key_file: join(dir, 'storage'),
  public_url: 'https://kmcp.example.com',
  redis: {url: 'redis://redis:6379/0'},
}
let files = 0
function load(extra: Record<string, unknown>, options: {loopback?: boolean; env?: NodeJS.ProcessEnv} = {}) {
  const path = join(dir, `oidc-${files++}.yaml`)
  writeFileSync(path, stringify({...base, ...extra}))
  return loadAuthConfig({path, explicit: true, loopback: options.loopback ?? false, env: options.env ?? {}})
}

test('rate limits default, can be changed one by one, and 0 turns a limit off', () => {
  assert.deepEqual(load({}).rateLimits, {windowSeconds: 60, registerPerIp: 10, tokenPerIp: 60, tokenPerClient: 60, authorizePerIp: 30, revokePerIp: 30, callbackPerIp: 30, mcpUnauthenticatedPerIp: 120})
  assert.deepEqual(load({rate_limits: {window_seconds: 10, register_per_ip: 0}}).rateLimits, {windowSeconds: 10, registerPerIp: 0, tokenPerIp: 60, tokenPerClient: 60, authorizePerIp: 30, revokePerIp: 30, callbackPerIp: 30, mcpUnauthenticatedPerIp: 120})
})

test('bad rate limits name the key and the rule', () => {
  assert.throws(() => load({rate_limits: {window_seconds: 0}}), (e: Error) => e instanceof AuthConfigError && /`rate_limits.window_seconds` .* must be a whole number of seconds, at least 1; got 0\./.test(e.message))
  assert.throws(() => load({rate_limits: {token_per_ip: 1.5}}), /`rate_limits.token_per_ip` .* whole number of requests \(0 turns this limit off\); got 1.5/)
  assert.throws(() => load({rate_limits: {token_per_ip: '10'}}), /got "10"/)
  assert.throws(() => load({rate_limits: {tokens: 5}}), /`rate_limits.tokens` .* is not a setting; use window_seconds, register_per_ip, token_per_ip, token_per_client, authorize_per_ip, revoke_per_ip, callback_per_ip, mcp_unauthenticated_per_ip\./)
  assert.throws(() => load({rate_limits: [1]}), /`rate_limits` .* must be a mapping/)
})

test('trusted proxies: addresses and CIDR ranges from the file or the environment; anything else is refused', () => {
  assert.deepEqual(load({trusted_proxies: ['10.0.0.0/8', '192.0.2.1', 'fd00::/8']}).trustedProxies, ['10.0.0.0/8', '192.0.2.1', 'fd00::/8'])
  assert.deepEqual(load({}).trustedProxies, [])
  assert.deepEqual(load({}, {env: {KMCP_TRUSTED_PROXIES: '10.0.0.0/8, 172.16.0.0/12'}}).trustedProxies, ['10.0.0.0/8', '172.16.0.0/12'])
  for (const bad of ['10.0.0.0/33', 'fd00::/129', 'proxy.internal', '10.0.0.0/8/1', '10.0.0.0/x']) {
    assert.throws(() => load({trusted_proxies: [bad]}), /`trusted_proxies` .* must list IP addresses or CIDR ranges/, bad)
  }
})

test('http:// URLs only on loopback; the in-memory store only on loopback', () => {
  assert.throws(() => load({issuer: 'http://idp.example.com'}), /`issuer` must be an https:\/\/ URL/)
  assert.equal(load({issuer: 'http://127.0.0.1:9000', public_url: 'http://127.0.0.1:4204', redis: undefined}, {loopback: true}).issuer, 'http://127.0.0.1:9000')
  assert.throws(() => load({redis: undefined}), /missing `redis`/)
})

test('an explicit configuration file that does not exist is an error naming it', () => {
  assert.throws(() => loadAuthConfig({path: join(dir, 'missing.yaml'), explicit: true, loopback: true, env: {}}), /the OIDC configuration file .*missing\.yaml \(from --oidc-config\) does not exist/)
})
