// Redis URLs kmcp accepts (one server, Sentinel, Cluster) and the ioredis options made from them.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, test} from 'node:test'
import {stringify} from 'yaml'
import {RedisUrlError, clusterOptions, parseRedisUrl, sentinelOptions} from '../../src/lib/storage/redis-topology.ts'
import {AuthConfigError, loadAuthConfig} from '../../src/lib/auth/config.ts'

test('redis:// and rediss:// stay one server, passed to ioredis as they are', () => {
  assert.deepEqual(parseRedisUrl('redis://redis:6379/0'), {kind: 'standalone', url: 'redis://redis:6379/0'})
  assert.deepEqual(parseRedisUrl('rediss://cache.example.com:6380/2'), {kind: 'standalone', url: 'rediss://cache.example.com:6380/2'})
})

test('Sentinel URLs: hosts with default port 26379, the master name, an optional database, TLS with rediss+', () => {
  assert.deepEqual(parseRedisUrl('redis+sentinel://s1:26380,s2,[fd00::1]:5000/mymaster'), {
    kind: 'sentinel',
    sentinels: [{host: 's1', port: 26380}, {host: 's2', port: 26379}, {host: 'fd00::1', port: 5000}],
    masterName: 'mymaster',
    tls: false,
  })
  assert.deepEqual(parseRedisUrl('rediss+sentinel://s1/kmcp-master/3'), {kind: 'sentinel', sentinels: [{host: 's1', port: 26379}], masterName: 'kmcp-master', db: 3, tls: true})
})

test('Cluster URLs: start nodes with default port 6379, no database', () => {
  assert.deepEqual(parseRedisUrl('redis+cluster://n1:7000,n2'), {kind: 'cluster', nodes: [{host: 'n1', port: 7000}, {host: 'n2', port: 6379}], tls: false})
  assert.equal((parseRedisUrl('rediss+cluster://n1:7000') as {tls: boolean}).tls, true)
})

test('bad URLs are refused with the form to write', () => {
  const refuses = (url: string, pattern: RegExp) => assert.throws(() => parseRedisUrl(url), (e: Error) => e instanceof RedisUrlError && pattern.test(e.message), url)
  refuses('http://redis:6379', /not a Redis URL kmcp understands.*redis\+sentinel:\/\//)
  refuses('redis+sentinel://s1:26379', /names the master after the hosts/)
  refuses('redis+sentinel://s1:26379/m/x', /database in a Sentinel URL must be a whole number/)
  refuses('redis+sentinel://s1/m/0/extra', /names the master after the hosts/)
  refuses('redis+sentinel://:secret@s1/m', /must not contain credentials/)
  refuses('redis+cluster://n1:7000/0', /only database 0/)
  refuses('redis+cluster://', /at least one host:port/)
  refuses('redis+cluster://n1:70000', /out of range/)
  refuses('redis+cluster://n1:abc', /is not host or host:port/)
})

test('Sentinel options: master role, password for the master, sentinel password only when given, TLS for both', () => {
  const base = {enableOfflineQueue: false, connectTimeout: 3000}
  const plain = sentinelOptions({kind: 'sentinel', sentinels: [{host: 's1', port: 26379}], masterName: 'm', tls: false}, {password: 'pw', db: 1}, base)
  assert.equal(plain.name, 'm')
  assert.equal(plain.role, 'master')
  assert.equal(plain.password, 'pw')
  assert.equal(plain.db, 1)
  assert.equal(plain.sentinelPassword, undefined)
  assert.equal(plain.tls, undefined)
  assert.equal(plain.enableOfflineQueue, false)
  assert.deepEqual(plain.sentinels, [{host: 's1', port: 26379}])
  const tls = sentinelOptions({kind: 'sentinel', sentinels: [{host: 's1', port: 26379}], masterName: 'm', db: 2, tls: true}, {sentinelPassword: 'sp', db: 1}, base)
  assert.equal(tls.db, 2, 'the database in the URL wins')
  assert.equal(tls.sentinelPassword, 'sp')
  assert.deepEqual([tls.tls, tls.sentinelTLS, tls.enableTLSForSentinelMode], [{}, {}, true])
})

test('Cluster options: the per-node options carry the password and timeouts, the retry strategy moves to the cluster', () => {
  const {nodes, options} = clusterOptions({kind: 'cluster', nodes: [{host: 'n1', port: 7000}], tls: true}, {password: 'pw', username: 'kmcp'}, {enableOfflineQueue: false, connectTimeout: 3000, retryStrategy: (n) => n * 10})
  assert.deepEqual(nodes, [{host: 'n1', port: 7000}])
  assert.equal(options.enableOfflineQueue, false)
  assert.equal(options.redisOptions?.password, 'pw')
  assert.equal(options.redisOptions?.username, 'kmcp')
  assert.equal(options.redisOptions?.connectTimeout, 3000)
  assert.deepEqual(options.redisOptions?.tls, {})
  assert.equal('retryStrategy' in (options.redisOptions ?? {}), false)
  assert.equal(options.clusterRetryStrategy?.(3, undefined as never), 30)
})

const dir = mkdtempSync(join(tmpdir(), 'kmcp-unit-redis-'))
after(() => rmSync(dir, {recursive: true, force: true}))

test('oidc.yaml: a Sentinel or Cluster URL is accepted, a bad one refused naming redis.url; sentinel_password_file is read', () => {
  writeFileSync(join(dir, 'jwt'), randomBytes(32).toString('hex'))
  writeFileSync(join(dir, 'storage'), randomBytes(32).toString('base64url'))
  writeFileSync(join(dir, 'secret'), 's3cret')
  writeFileSync(join(dir, 'sentinel-pw'), 'sentinel-secret\n')
  let n = 0
  const load = (redis: Record<string, unknown>) => {
    const path = join(dir, `oidc-${n++}.yaml`)
    const config = {auth_type: 'oidc', issuer: 'https://idp.example.com', client_id: 'kmcp', client_secret_file: join(dir, 'secret'), jwt_signing_key_file: join(dir, 'jwt'), storage_encryption_key_file: join(dir, 'storage'), public_url: 'https://kmcp.example.com', redis}
    writeFileSync(path, stringify(config))
    return loadAuthConfig({path, explicit: true, loopback: false, env: {}})
  }
  assert.equal(load({url: 'redis+sentinel://s1,s2/mymaster'}).redis?.url, 'redis+sentinel://s1,s2/mymaster')
  assert.equal(load({url: 'redis+cluster://n1:7000'}).redis?.url, 'redis+cluster://n1:7000')
  assert.equal(load({url: 'redis+sentinel://s1/m', sentinel_password_file: join(dir, 'sentinel-pw')}).redis?.sentinelPassword, 'sentinel-secret')
  assert.throws(() => load({url: 'redis+sentinel://s1'}), (e: Error) => e instanceof AuthConfigError && /`redis.url` \/ REDIS_URL: .*names the master/.test(e.message))
  assert.throws(() => load({url: 'memcached://x'}), /`redis.url` \/ REDIS_URL: not a Redis URL/)
})
