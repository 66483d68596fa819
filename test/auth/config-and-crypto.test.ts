// The pieces below the HTTP layer: configuration loading and its error messages, the user id
// (the reference's test vectors, lower-cased), and encrypted storage on a real redis-server.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {stringify} from 'yaml'
import type {IncomingMessage} from 'node:http'
import {AuthConfigError, loadAuthConfig, signingKeyFrom} from '../../src/lib/auth/config.ts'
import {CookieSigner} from '../../src/lib/auth/cookies.ts'
import {sanitizeUsername, shortHash, userIdFor} from '../../src/lib/auth/user-hash.ts'
import {EncryptedStore, storageKeyRing} from '../../src/lib/storage/encrypted.ts'
import {RedisStore} from '../../src/lib/storage/redis.ts'
import {kmcpCommand, REPO_ROOT} from '../support/mcp.ts'
import {startRedis, type TestRedis} from '../support/redis.ts'
import {spawnSync} from 'node:child_process'

const fernet = () => randomBytes(32).toString('base64url') + '='

function configDir(yaml: Record<string, unknown>, secrets: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-config-'))
  for (const [name, value] of Object.entries(secrets)) writeFileSync(join(dir, name), value)
  const resolved = Object.fromEntries(Object.entries(yaml).map(([k, v]) => [k, typeof v === 'string' && v.startsWith('@') ? join(dir, v.slice(1)) : v]))
  writeFileSync(join(dir, 'oidc.yaml'), stringify(resolved))
  return join(dir, 'oidc.yaml')
}

const complete = {
  auth_type: 'auth0',
  issuer: 'https://tenant.example.auth0.com/',
  audience: 'https://kmcp.example.com/api',
  client_id: 'abc',
  client_secret_file: '@client_secret',
  jwt_signing_key_file: '@jwt_signing_key',
  storage_encryption_key_file: '@storage_encryption_key',
  public_url: 'https://kmcp.example.com',
  redis: {url: 'redis://redis:6379/0'},
}
const completeSecrets = () => ({client_secret: 's3cret', jwt_signing_key: randomBytes(32).toString('hex'), storage_encryption_key: fernet()})

describe('configuration', () => {
  test('a complete file loads; secrets come from files; defaults apply', () => {
    const config = loadAuthConfig({path: configDir(complete, completeSecrets()), explicit: true, loopback: false, env: {}})
    assert.equal(config.authType, 'auth0')
    assert.equal(config.clientSecret, 's3cret')
    assert.equal(config.publicUrl, 'https://kmcp.example.com')
    assert.deepEqual(config.upstreamScopes, ['openid', 'profile', 'email', 'offline_access'])
    assert.equal(config.redis?.url, 'redis://redis:6379/0')
    assert.equal(config.signingKeys.length, 1)
  })

  test('the environment fills what the file leaves out', () => {
    const {issuer, ...rest} = complete
    const config = loadAuthConfig({path: configDir(rest, completeSecrets()), explicit: true, loopback: false, env: {OIDC_ISSUER: issuer, REDIS_URL: 'redis://other:6379'}})
    assert.equal(config.issuer, issuer)
    assert.equal(config.redis?.url, 'redis://redis:6379/0', 'the file wins over the environment')
  })

  const failures: Array<[string, Record<string, unknown>, Record<string, string>, RegExp]> = [
    ['missing issuer', {...complete, issuer: undefined}, {}, /missing `issuer`.*OIDC_ISSUER/],
    ['http issuer off loopback', {...complete, issuer: 'http://idp.example.com'}, {}, /`issuer` must be an https:\/\/ URL/],
    ['missing signing key', {...complete, jwt_signing_key_file: undefined}, {}, /missing the token signing key.*jwt_signing_key_file.*never generates/],
    ['short signing key', complete, {jwt_signing_key: 'short'}, /signing key 1 .* too short/],
    ['malformed storage key', complete, {storage_encryption_key: 'not-a-fernet-key'}, /storage encryption key .* is not a Fernet key/],
    ['missing storage key', {...complete, storage_encryption_key_file: undefined}, {}, /missing the storage encryption key/],
    ['missing redis off loopback', {...complete, redis: undefined}, {}, /missing `redis`/],
    ['unknown auth_type', {...complete, auth_type: 'keycloak'}, {}, /`auth_type` must be auth0 or oidc/],
    ['public_url with a path', {...complete, public_url: 'https://kmcp.example.com/mcp'}, {}, /`public_url` must be an origin/],
    ['auth0 without audience', {...complete, audience: undefined}, {}, /missing `audience`/],
    // A typo used to vanish silently, leaving the setting it was meant to be at its default.
    ['a typo in admin_groups', {...complete, admin_group: ['platform-admins']}, {}, /`admin_group` in .* is not a setting \(did you mean `admin_groups`\?\)/],
    ['a typo in trusted_proxies', {...complete, trusted_proxie: ['10.0.0.0/8']}, {}, /`trusted_proxie` in .* is not a setting \(did you mean `trusted_proxies`\?\)/],
    ['an unknown key inside redis', {...complete, redis: {url: 'redis://redis:6379/0', pasword_file: '/x'}}, {}, /`redis\.pasword_file` in .* is not a setting/],
    ['unreadable secret file', {...complete, client_secret_file: '/nonexistent/secret'}, {}, /cannot read \/nonexistent\/secret \(`client_secret_file`\): ENOENT/],
  ]
  for (const [name, yaml, secrets, message] of failures) {
    test(`refused: ${name}`, () => {
      const path = configDir(yaml, {...completeSecrets(), ...secrets})
      assert.throws(() => loadAuthConfig({path, explicit: true, loopback: false, env: {}}), (error: unknown) => error instanceof AuthConfigError && message.test(error.message))
    })
  }

  test('loopback allows http URLs and the in-memory store', () => {
    const config = loadAuthConfig({
      path: configDir({...complete, issuer: 'http://127.0.0.1:9999', public_url: 'http://localhost:4204', redis: undefined}, completeSecrets()),
      explicit: true,
      loopback: true,
      env: {},
    })
    assert.equal(config.redis, undefined)
  })

  test('rotated storage keys beside the current one still decrypt', () => {
    const secrets = completeSecrets()
    const old = fernet()
    const path = configDir(complete, {...secrets, previous_storage_encryption_keys: `${old}\n`})
    const config = loadAuthConfig({path, explicit: true, loopback: false, env: {}})
    assert.equal(config.storageKeys.length, 2)
  })

  test('kmcp serve stops with the message when the configuration is wrong', () => {
    const path = configDir({...complete, issuer: undefined}, completeSecrets())
    const cmd = kmcpCommand('serve', '--transport', 'http', '--host', '0.0.0.0', '--port', '0', '--oidc-config', path)
    const result = spawnSync(cmd.command, cmd.args, {cwd: REPO_ROOT, encoding: 'utf8', env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp'}, timeout: 30_000})
    assert.equal(result.status, 1)
    assert.match(result.stderr, /authentication is not configured correctly: missing `issuer`/)
  })

  test('--impersonate without authentication is refused', () => {
    const cmd = kmcpCommand('serve', '--transport', 'http', '--host', '127.0.0.1', '--port', '0', '--impersonate')
    const result = spawnSync(cmd.command, cmd.args, {cwd: REPO_ROOT, encoding: 'utf8', env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp'}, timeout: 30_000})
    assert.equal(result.status, 1)
    assert.match(result.stderr, /--impersonate needs authentication/)
  })

  test('signing keys: 64 hex characters are the raw key', () => {
    const hex = 'ab'.repeat(32)
    assert.deepEqual(Buffer.from(signingKeyFrom(hex).key), Buffer.from(hex, 'hex'))
  })
})

describe('user id (user_hash)', () => {
  test('the reference test vectors, lower-cased to RFC 1123', () => {
    assert.equal(shortHash('https://issuer.example.com'), 'eUrZx3')
    assert.equal(userIdFor({preferred_username: 'john.doe'}, 'https://auth.example.com'), 'john-doe-mont6e')
    assert.equal(userIdFor({email: 'alice@example.com'}, 'https://auth.example.com'), 'alice-mont6e')
    assert.equal(userIdFor({name: 'test-user'}, 'http://localhost/no-auth'), 'test-user-h2km3q')
    assert.equal(userIdFor({sub: 'User_Name'}, 'https://x'), 'user-name-ejr0xl')
    assert.equal(userIdFor({sub: '---'}, 'https://x'), 'user-ejr0xl')
    assert.equal(userIdFor({sub: 'Ünïcødé Name'}, 'https://x'), 'n-c-d-name-ejr0xl')
    assert.equal(userIdFor({sub: 'a'.repeat(70)}, 'https://x'), 'a'.repeat(50) + '-ejr0xl')
  })

  test('claim order: preferred_username, username, name, email, sub', () => {
    const all = {preferred_username: 'p', username: 'u', name: 'n', email: 'e@x', sub: 's'}
    assert.match(userIdFor(all, 'https://x'), /^p-/)
    assert.match(userIdFor({...all, preferred_username: ''}, 'https://x'), /^u-/)
    assert.match(userIdFor({email: 'e@x', sub: 's'}, 'https://x'), /^e-/)
    assert.equal(sanitizeUsername(''), 'user')
  })

  test('always a valid RFC 1123 label', () => {
    for (const name of ['Ä', 'UPPER', 'a.b.c', '@@', '  spaced  name ', 'x'.repeat(200), 'Zoë_Ölund']) {
      const id = userIdFor({preferred_username: name}, 'https://tenant.example.auth0.com/')
      assert.match(id, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, id)
      assert.ok(id.length <= 63)
    }
  })
})

describe('encrypted storage on redis-server', () => {
  let redis: TestRedis
  let backend: RedisStore
  before(async () => {
    redis = await startRedis()
    backend = new RedisStore({url: redis.url})
  })
  after(async () => {
    await backend?.close()
    await redis?.stop()
  })

  test('values are sealed, bound to their key, and survive a key rotation', async () => {
    const [oldKey, newKey] = [fernet(), fernet()]
    const before = new EncryptedStore(backend, storageKeyRing([oldKey]))
    await before.set('mcp:oauth:test:a', {secret: 'value'}, 60)
    const raw = await redis.command('GET', 'mcp:oauth:test:a')
    assert.match(raw, /^v1\./)
    assert.ok(!raw.includes('value'))
    assert.ok(Number(await redis.command('TTL', 'mcp:oauth:test:a')) > 0)

    const rotated = new EncryptedStore(backend, storageKeyRing([newKey, oldKey]))
    assert.deepEqual(await rotated.get('mcp:oauth:test:a'), {secret: 'value'})
    // Moved to another key, the ciphertext no longer opens (the key is the associated data).
    await redis.command('SET', 'mcp:oauth:test:b', raw)
    assert.equal(await rotated.get('mcp:oauth:test:b'), undefined)
    // Tampered: treated as missing.
    await redis.command('SET', 'mcp:oauth:test:c', raw.slice(0, -3) + 'AAA')
    assert.equal(await rotated.get('mcp:oauth:test:c'), undefined)
    // Without the old key: missing, not an error.
    assert.equal(await new EncryptedStore(backend, storageKeyRing([newKey])).get('mcp:oauth:test:a'), undefined)
  })

  test('take() is single use', async () => {
    const store = new EncryptedStore(backend, storageKeyRing([fernet()]))
    await store.set('mcp:oauth:test:once', {n: 1}, 60)
    const [first, second] = await Promise.all([store.take('mcp:oauth:test:once'), store.take('mcp:oauth:test:once')])
    assert.deepEqual([first, second].filter(Boolean), [{n: 1}])
  })
})

describe('consent cookies', () => {
  test('over https: __Host- prefix, Secure, HttpOnly, SameSite=Lax; tampering is detected', () => {
    const signer = new CookieSigner(randomBytes(32), true)
    const header = signer.serialize('kmcp-binding', 'txn-1', 900)
    assert.match(header, /^__Host-kmcp-binding=txn-1\.[A-Za-z0-9_-]+; Path=\/; Max-Age=900; HttpOnly; SameSite=Lax; Secure$/)
    const cookie = header.split(';')[0]
    const request = (value: string) => ({headers: {cookie: value}}) as unknown as IncomingMessage
    assert.equal(signer.read(request(cookie), 'kmcp-binding'), 'txn-1')
    assert.equal(signer.read(request(cookie.replace('txn-1', 'txn-2')), 'kmcp-binding'), undefined)
    assert.equal(signer.read(request(cookie.replace('__Host-', '')), 'kmcp-binding'), undefined)
    assert.equal(new CookieSigner(randomBytes(32), true).read(request(cookie), 'kmcp-binding'), undefined, 'another key')
  })
})
