// What the session layer writes to a real redis-server per request, and the guarantees that let it
// write less and wait less: event ids made by the replica, a request recorded (and its answer
// ending it) in one script, the session record refreshed at most once per tenth of the idle timeout.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js'
import {nextEntryIdAbove, RedisEventStore} from '../../src/lib/server/event-store-redis.ts'
import {SessionBus} from '../../src/lib/server/session-bus.ts'
import {RedisSessionStore} from '../../src/lib/server/session-store-redis.ts'
import {waitFor} from '../support/kube.ts'
import {startRedis, type TestRedis} from '../support/redis.ts'

const IDLE_MS = 10_000
const limits = {idleTimeoutMs: IDLE_MS, maxPerUser: 5, maxTotal: 10}

describe('session writes to Redis', () => {
  let redis: TestRedis
  let store: RedisSessionStore
  let other: RedisSessionStore
  let bus: SessionBus

  before(async () => {
    redis = await startRedis()
    store = new RedisSessionStore({url: redis.url}, limits, 'replica-a')
    other = new RedisSessionStore({url: redis.url}, limits, 'replica-b')
    bus = new SessionBus({url: redis.url}, store.redis, IDLE_MS)
    await waitFor(() => store.redis.status === 'ready' && other.redis.status === 'ready', {message: 'connected to redis'})
  })

  after(async () => {
    await bus?.close()
    await store?.close()
    await other?.close()
    await redis?.stop()
  })

  test("a POST stream's events carry ids made by the replica, stored under those ids, replayed in order", async () => {
    const events = new RedisEventStore(bus, 'session-ids')
    const messages: JSONRPCMessage[] = [
      {jsonrpc: '2.0', method: 'notifications/progress', params: {progressToken: 1, progress: 1}},
      {jsonrpc: '2.0', method: 'notifications/progress', params: {progressToken: 1, progress: 2}},
      {jsonrpc: '2.0', id: 9, result: {}},
    ]
    const ids: string[] = []
    for (const message of messages) ids.push(await events.storeEvent('post-1', message))
    await events.flushed()
    const entry = (id: string) => id.split('|')[1].split('-').map(Number)
    for (let i = 1; i < ids.length; i++) {
      const [[ms, seq], [prevMs, prevSeq]] = [entry(ids[i]), entry(ids[i - 1])]
      assert.ok(ms > prevMs || (ms === prevMs && seq > prevSeq), `increasing: ${ids.join(', ')}`)
    }
    const stored = await bus.after('session-ids', 'post-1|0-0')
    assert.deepEqual(stored.map((e) => e.eventId), ids, 'stored under the ids the client was sent')
    assert.deepEqual(stored.map((e) => e.message), messages)
    assert.deepEqual((await bus.after('session-ids', ids[0])).map((e) => e.eventId), ids.slice(1), 'resuming from the first replays the rest')
  })

  test('an event whose id is not above the last stored one is stored after it (never lost)', async () => {
    await bus.append('session-late', 'post-2', {jsonrpc: '2.0', method: 'first'} as JSONRPCMessage)
    const late = await bus.append('session-late', 'post-2', {jsonrpc: '2.0', method: 'late'} as JSONRPCMessage, {entryId: '1-0'})
    const stored = await bus.after('session-late', 'post-2|0-0')
    assert.deepEqual(stored.map((e) => (e.message as {method: string}).method), ['first', 'late'])
    assert.equal(stored[1].eventId, late, 'the id Redis gave instead is answered')
  })

  test("a POST stream's opening (priming) event is not written: resuming from its id replays what follows", async () => {
    const events = new RedisEventStore(bus, 'session-priming')
    const priming = await events.storeEvent('post-5', {} as JSONRPCMessage)
    const answer = await events.storeEvent('post-5', {jsonrpc: '2.0', id: 1, result: {}})
    await events.flushed()
    assert.deepEqual((await bus.after('session-priming', priming)).map((e) => e.eventId), [answer])
  })

  test("an id made above what a client holds of a stream another replica wrote, even when that replica's clock runs ahead", async () => {
    const aheadMs = Date.now() + 60_000
    const ahead = `${aheadMs}-3`
    assert.equal(nextEntryIdAbove(ahead), `${aheadMs}-4`)
    const mine = nextEntryIdAbove('1-0')
    assert.ok(Number(mine.split('-')[0]) >= Date.now() - 1000, 'otherwise this replica\'s own clock')
    const reported = await bus.append('session-ahead', 'post-6', {jsonrpc: '2.0', id: 2, error: {code: -32000, message: 'x'}}, {entryId: nextEntryIdAbove(ahead)})
    assert.deepEqual((await bus.after('session-ahead', `post-6|${ahead}`)).map((e) => e.eventId), [reported], 'a client resuming from its last id gets it')
  })

  test('the standalone stream, written by every replica, gets its ids from Redis', async () => {
    const id = await new RedisEventStore(bus, 'session-standalone').storeEvent('_GET_stream', {jsonrpc: '2.0', method: 'notifications/message'} as JSONRPCMessage)
    assert.deepEqual((await bus.after('session-standalone', '_GET_stream|0-0')).map((e) => e.eventId), [id])
  })

  test('a request is recorded in one round trip that says how many run elsewhere; its answer, stored as an event, ends it', async () => {
    assert.equal(await store.requestStarted('session-calls', 5), 0)
    assert.equal(await other.requestStarted('session-calls', 6), 1, "replica b sees replica a's request")
    assert.equal(await store.requestStarted('session-calls', 7), 1, "replica a sees replica b's")
    const events = new RedisEventStore(bus, 'session-calls')
    await events.storeEvent('post-3', {jsonrpc: '2.0', id: 5, result: {}})
    await events.flushed()
    assert.deepEqual((await redis.command('HKEYS', 'kmcp:mcp:session:{session-calls}:inflight')).split('\n').sort(), ['6', '7'])
  })

  test('the session record is refreshed at most once per tenth of the idle timeout, and lives that much longer than the idle timeout', async () => {
    const place = await store.reserve('owner-1')
    assert.ok(place.ok)
    await place.commit({id: 'session-touch', owner: 'owner-1', initialize: {}, identity: {userId: 'u'} as never, subscriptions: {}})
    const key = 'kmcp:mcp:session:{session-touch}'
    const ttl = () => redis.command('PTTL', key).then(Number)
    assert.ok((await ttl()) > IDLE_MS, `lives past the idle timeout: ${await ttl()} ms`)
    await redis.command('PEXPIRE', key, '5000')
    await store.touch('session-touch', 'owner-1')
    assert.ok((await ttl()) <= 5000, 'used again at once: not refreshed')
    await store.touch('session-touch', 'owner-1', true)
    assert.ok((await ttl()) > IDLE_MS, 'forced: refreshed')
    await redis.command('PEXPIRE', key, '5000')
    await new Promise((r) => setTimeout(r, IDLE_MS / 10 + 50))
    await store.touch('session-touch', 'owner-1')
    assert.ok((await ttl()) > IDLE_MS, 'used a tenth of the idle timeout later: refreshed')
  })

  test('with Redis down, waiting for a stream subscription fails at once instead of hanging', async () => {
    await redis.stop()
    try {
      await waitFor(() => store.redis.status !== 'ready', {message: 'redis seen down'})
      const listening = bus.listenStream('session-down', 'post-4', () => undefined)
      const started = Date.now()
      await assert.rejects(listening.ready(), /not connected|did not confirm/)
      assert.ok(Date.now() - started < 5000)
      listening.stop()
    } finally {
      await redis.start()
    }
  })
})
