// kmcp's Redis store through a real Redis Sentinel (redis-server --sentinel, Debian's redis-server
// package) on loopback: a password-protected master, one replica and one sentinel; the store finds
// the master by name, and still works after the sentinel fails over to the replica.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {Redis} from 'ioredis'
import {RedisStore} from '../../src/lib/storage/redis.ts'
import {freePort} from '../support/redis.ts'

const PASSWORD = 'sentinel-test-password'
const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server'], {encoding: 'utf8'}).stdout.trim() !== ''

describe('RedisStore with a redis+sentinel:// URL against a real Sentinel', {skip: hasRedis ? undefined : 'redis-server is not installed (Debian package redis-server)'}, () => {
  const children: ChildProcess[] = []
  let dir: string
  let ports: {master: number; replica: number; sentinel: number}
  let store: RedisStore

  async function launch(args: string[]): Promise<void> {
    const child = spawn('redis-server', args, {stdio: ['ignore', 'pipe', 'pipe']})
    children.push(child)
    let output = ''
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()))
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()))
    const port = Number(args[args.indexOf('--port') + 1])
    const deadline = Date.now() + 10_000
    for (;;) {
      const probe = new Redis({port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...(args.includes('--sentinel') ? {} : {password: PASSWORD})})
      const pong = await probe.connect().then(() => probe.ping(), () => undefined).catch(() => undefined)
      probe.disconnect()
      if (pong === 'PONG') return
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server ${args.join(' ')} did not start:\n${output}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kmcp-sentinel-'))
    ports = {master: await freePort(), replica: await freePort(), sentinel: await freePort()}
    const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', PASSWORD, '--masterauth', PASSWORD, '--loglevel', 'warning']
    await launch(['--port', String(ports.master), ...common])
    await launch(['--port', String(ports.replica), ...common, '--replicaof', '127.0.0.1', String(ports.master)])
    // A sentinel rewrites its configuration file: it must be a writable file of its own.
    const config = join(dir, 'sentinel.conf')
    writeFileSync(config, [`port ${ports.sentinel}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor kmcp-master 127.0.0.1 ${ports.master} 1`, `sentinel auth-pass kmcp-master ${PASSWORD}`, 'sentinel down-after-milliseconds kmcp-master 1000', 'sentinel failover-timeout kmcp-master 5000', ''].join('\n'))
    await launch([config, '--sentinel', '--port', String(ports.sentinel), '--loglevel', 'warning'])
    store = new RedisStore({url: `redis+sentinel://127.0.0.1:${ports.sentinel}/kmcp-master`, password: PASSWORD})
  })

  after(async () => {
    await store?.close()
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  test('finds the master through the sentinel and stores, reads and counts there', async () => {
    await store.set('kmcp:test:key', 'value', 60)
    assert.equal(await store.get('kmcp:test:key'), 'value')
    assert.equal(await store.increment('kmcp:test:counter', 60), 1)
    assert.equal(await store.increment('kmcp:test:counter', 60), 2)
    await store.ping()
    const master = new Redis({port: ports.master, host: '127.0.0.1', password: PASSWORD})
    try {
      assert.equal(await master.get('kmcp:test:key'), 'value', 'the value is on the master the sentinel names')
    } finally {
      master.disconnect()
    }
  })

  test('after a failover to the replica the store writes to the new master', async () => {
    const sentinel = new Redis({port: ports.sentinel, host: '127.0.0.1'})
    const replica = new Redis({port: ports.replica, host: '127.0.0.1', password: PASSWORD})
    try {
      // The replica must have caught up (and the sentinel must know it) before it can be promoted.
      const deadline = Date.now() + 20_000
      while (!(await replica.get('kmcp:test:key')) || ((await sentinel.call('SENTINEL', 'REPLICAS', 'kmcp-master')) as unknown[]).length === 0) {
        assert.ok(Date.now() < deadline, 'the sentinel did not discover the replica within 20 s')
        await new Promise((r) => setTimeout(r, 200))
      }
      // NOGOODSLAVE until the sentinel has seen the replica's link to the master up: ask again.
      for (;;) {
        const answer = await sentinel.call('SENTINEL', 'FAILOVER', 'kmcp-master').catch((error: Error) => error.message)
        if (answer === 'OK') break
        assert.ok(Date.now() < deadline && /NOGOODSLAVE/.test(String(answer)), `SENTINEL FAILOVER: ${String(answer)}`)
        await new Promise((r) => setTimeout(r, 300))
      }
      while (((await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'kmcp-master')) as string[])[1] !== String(ports.replica)) {
        assert.ok(Date.now() < deadline + 10_000, 'the sentinel did not promote the replica')
        await new Promise((r) => setTimeout(r, 200))
      }
      // The store follows the switch (ioredis's failover detector listens to the sentinel): a write
      // lands on the promoted replica, whatever the old master accepted for a moment before stepping down.
      const writeBy = Date.now() + 15_000
      for (;;) {
        await store.set('kmcp:test:after-failover', 'still-here', 60).catch(() => undefined)
        if ((await replica.get('kmcp:test:after-failover')) === 'still-here') break
        assert.ok(Date.now() < writeBy, 'the store did not write to the new master within 15 s of the failover')
        await new Promise((r) => setTimeout(r, 200))
      }
      assert.equal(await store.get('kmcp:test:key'), 'value')
    } finally {
      sentinel.disconnect()
      replica.disconnect()
    }
  })
})
