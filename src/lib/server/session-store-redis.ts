import {randomUUID} from 'node:crypto'
import {hostname} from 'node:os'
import type {Cluster, Redis} from 'ioredis'
import {connectRedis, type RedisSettings} from '../storage/redis.ts'
import {log} from './logger.ts'
import {HEARTBEAT_EVERY_MS, HEARTBEAT_TTL_MS, SessionStoreUnavailable} from './session-sharing.ts'
import type {SessionLimits, SessionRefusal} from './sessions.ts'
import type {CallerIdentity} from '../tools/registry.ts'

/** A place held by an initialize request in progress (it never takes this long). */
const PENDING_MS = 30_000

/** What a replica needs to rebuild a session it does not hold: never a token. */
export interface SessionRecord {
  id: string
  /** The stable subject of the caller who opened it (everyone is one user with auth off). */
  owner: string
  /** The client's initialize request, replayed into a fresh server on another replica. */
  initialize: unknown
  /** Who opened the session (names, groups, scopes: nothing secret), for the rebuilt server's own work (watches). */
  identity: CallerIdentity
  /** The level set with logging/setLevel, if any. */
  logLevel?: string
  /** Subscribed resource URIs, each with the replica whose watch serves it. */
  subscriptions: Record<string, string>
}

// Caps counted by every replica together: a sorted set of sessions (score = expiry time, ms)
// for the whole service and one per owner, cleaned and checked in one script.
const RESERVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {429, first[2] or ARGV[1]}
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {503, first[2] or ARGV[1]}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return {0, '0'}
`

// A request of the session begins on this replica (ARGV[2]): recorded, and how many requests of
// the session run on other replicas is answered in the same round trip (any: some may be orphaned).
const BEGIN = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local others = 0
for _, replica in ipairs(redis.call('HVALS', KEYS[1])) do
  if replica ~= ARGV[2] then others = others + 1 end
end
return others
`

/** The scripts above, run by SHA (ioredis defineCommand): their text is not resent each time. */
interface StoreCommands {
  kmcpReserve(all: string, owner: string, now: number, pendingExpiry: number, pending: string, maxTotal: number, maxPerUser: number, ownerTtlMs: number): Promise<[number, string]>
  kmcpBegin(inFlight: string, field: string, replica: string, ttlMs: number): Promise<number>
}

/**
 * Sessions in Redis: records, caps, in-flight requests and replica liveness. Every replica uses
 * the same keys; none of them holds anything another replica could not rebuild. Each script and
 * transaction touches keys of one hash slot only (see the keys below), so Redis Cluster works too.
 */
export class RedisSessionStore {
  readonly replicaId: string
  readonly redis: Redis | Cluster
  private readonly limits: SessionLimits
  private readonly heartbeat: NodeJS.Timeout
  private lastState = 'connecting'
  /** When this replica last refreshed each session's expiry in Redis (see touch). */
  private readonly touched = new Map<string, number>()
  /** How long a session's keys live after their last refresh: the idle timeout and the refresh interval. */
  private readonly keyTtlMs: number
  /** A session used again within this time of its last refresh is not refreshed again. */
  private readonly refreshEveryMs: number

  constructor(settings: RedisSettings, limits: SessionLimits, replicaId = `${hostname()}-${randomUUID().slice(0, 8)}`) {
    this.replicaId = replicaId
    this.limits = limits
    this.refreshEveryMs = Math.floor(limits.idleTimeoutMs / 10)
    this.keyTtlMs = limits.idleTimeoutMs + this.refreshEveryMs
    this.redis = connectRedis(settings)
    this.redis.defineCommand('kmcpReserve', {numberOfKeys: 2, lua: RESERVE})
    this.redis.defineCommand('kmcpBegin', {numberOfKeys: 1, lua: BEGIN})
    this.redis.on('ready', () => this.noteState('ready'))
    this.redis.on('error', (error: Error) => this.noteState('error', error.message))
    const beat = () => void this.redis.multi().set(aliveKey(this.replicaId), '1', 'PX', HEARTBEAT_TTL_MS).zadd(REPLICAS_KEY, Date.now(), this.replicaId).exec().catch(() => undefined)
    this.redis.on('ready', beat)
    this.heartbeat = setInterval(beat, HEARTBEAT_EVERY_MS)
    this.heartbeat.unref()
  }

  private noteState(state: string, detail?: string): void {
    if (state === this.lastState) return
    this.lastState = state
    if (state === 'ready') log.info('session store: redis connected', {replica: this.replicaId})
    else log.warn('session store: redis unavailable; new sessions are refused until it is back', {error: detail})
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') throw new SessionStoreUnavailable(`not connected (state: ${this.redis.status})`)
    try {
      return await work()
    } catch (error) {
      throw new SessionStoreUnavailable(error)
    }
  }

  async ping(): Promise<void> {
    await this.run(() => this.redis.ping())
  }

  /** Holds a place for a new session of `owner` against the caps of all replicas. */
  async reserve(owner: string): Promise<{ok: true; commit(record: SessionRecord): Promise<void>; release(): Promise<void>} | {ok: false; refusal: SessionRefusal}> {
    const now = Date.now()
    const pending = `pending:${randomUUID()}`
    const ownerKey = ownerSessionsKey(owner)
    const [status, soonest] = await this.run(() => this.commands.kmcpReserve(ALL_SESSIONS_KEY, ownerKey, now, now + PENDING_MS, pending, this.limits.maxTotal, this.limits.maxPerUser, this.keyTtlMs + PENDING_MS))
    if (status !== 0) {
      const retryAfterSeconds = Math.max(1, Math.ceil((Number(soonest) - now) / 1000))
      const message =
        status === 429
          ? `Too many open sessions for this user (at most ${this.limits.maxPerUser}). Close unused sessions (HTTP DELETE with Mcp-Session-Id) or wait until an idle one expires.`
          : `The server holds its maximum of ${this.limits.maxTotal} sessions. Try again later.`
      return {ok: false, refusal: {status: status as 429 | 503, retryAfterSeconds, message}}
    }
    return {
      ok: true,
      commit: async (record) => {
        const now = Date.now()
        const expiry = now + this.keyTtlMs
        // The record first (one connection keeps the order, without waiting in between): a place
        // counted for a session without a record only expires.
        const stored = this.run(() => this.redis.set(recordKey(record.id), JSON.stringify({owner: record.owner, initialize: record.initialize, identity: record.identity}), 'PX', this.keyTtlMs))
        const counted = this.run(() => this.redis.multi().zrem(ALL_SESSIONS_KEY, pending).zrem(ownerKey, pending).zadd(ALL_SESSIONS_KEY, expiry, record.id).zadd(ownerKey, expiry, record.id).exec())
        await Promise.all([stored, counted])
        this.touched.set(record.id, now)
      },
      release: async () => {
        await this.redis.multi().zrem(ALL_SESSIONS_KEY, pending).zrem(ownerKey, pending).exec().catch(() => undefined)
      },
    }
  }

  /** The session's record, or undefined when it does not exist (expired, deleted, never made). */
  async load(id: string): Promise<SessionRecord | undefined> {
    const [raw, level, subscriptions] = await this.run(() => Promise.all([this.redis.get(recordKey(id)), this.redis.get(levelKey(id)), this.redis.hgetall(subscriptionsKey(id))]))
    if (!raw) return undefined
    const stored = JSON.parse(raw) as {owner: string; initialize: unknown; identity: CallerIdentity}
    return {id, owner: stored.owner, initialize: stored.initialize, identity: stored.identity, logLevel: level ?? undefined, subscriptions}
  }

  private get commands(): StoreCommands {
    return this.redis as unknown as StoreCommands
  }

  /**
   * Marks the session as used now: its record and its place in the caps live one idle timeout (and
   * one refresh interval) more. Refreshed at most once per refresh interval (a tenth of the idle
   * timeout) by each replica, unless `force`: a session thus never expires sooner than one idle
   * timeout after its last use, and at most one refresh interval later.
   */
  async touch(id: string, owner: string, force = false): Promise<void> {
    const now = Date.now()
    if (!force && now - (this.touched.get(id) ?? -Infinity) < this.refreshEveryMs) return
    this.touched.set(id, now)
    if (this.touched.size > 1024) for (const [session, at] of this.touched) if (now - at > this.keyTtlMs) this.touched.delete(session)
    const ttl = this.keyTtlMs
    const expiry = now + ttl
    await this.run(() =>
      Promise.all([
        this.redis.multi().pexpire(recordKey(id), ttl).pexpire(levelKey(id), ttl).pexpire(subscriptionsKey(id), ttl).pexpire(inFlightKey(id), ttl).exec(),
        this.redis
          .multi()
          .zadd(ALL_SESSIONS_KEY, 'XX', expiry, id)
          .zadd(ownerSessionsKey(owner), 'XX', expiry, id)
          .pexpire(ownerSessionsKey(owner), ttl + PENDING_MS)
          .exec(),
      ]),
    ).catch((error: unknown) => {
      // Not refreshed: the next request tries again.
      this.touched.delete(id)
      throw error
    })
  }

  async remove(id: string, owner: string): Promise<void> {
    this.touched.delete(id)
    await this.run(() => Promise.all([this.redis.del(recordKey(id), levelKey(id), subscriptionsKey(id), inFlightKey(id)), this.redis.multi().zrem(ALL_SESSIONS_KEY, id).zrem(ownerSessionsKey(owner), id).exec()]))
  }

  async setLogLevel(id: string, level: string): Promise<void> {
    await this.run(() => this.redis.set(levelKey(id), level, 'PX', this.keyTtlMs))
  }

  async setSubscription(id: string, uri: string, subscribed: boolean): Promise<void> {
    const watching = watchingKey(this.replicaId)
    if (subscribed) await this.run(() => Promise.all([this.redis.multi().hset(subscriptionsKey(id), uri, this.replicaId).pexpire(subscriptionsKey(id), this.keyTtlMs).exec(), this.redis.multi().sadd(watching, id).pexpire(watching, this.keyTtlMs).exec()]))
    else await this.run(() => this.redis.hdel(subscriptionsKey(id), uri))
  }

  /**
   * Replicas that stopped beating, each claimed by one caller only, with the sessions whose
   * subscriptions they were watching: the claimer takes those watches over.
   */
  async claimDeadReplicas(): Promise<Array<{replica: string; sessions: string[]}>> {
    const stale = await this.run(() => this.redis.zrangebyscore(REPLICAS_KEY, '-inf', Date.now() - HEARTBEAT_TTL_MS))
    const claimed: Array<{replica: string; sessions: string[]}> = []
    for (const replica of stale) {
      if (replica === this.replicaId || (await this.run(() => this.redis.zrem(REPLICAS_KEY, replica))) !== 1) continue
      const [[, sessions]] = ((await this.run(() => this.redis.multi().smembers(watchingKey(replica)).del(watchingKey(replica)).exec())) ?? [[null, []]]) as Array<[Error | null, string[]]>
      claimed.push({replica, sessions: sessions ?? []})
    }
    return claimed
  }

  /** Claims a subscription whose replica died, so that exactly one replica takes over its watch. */
  async takeOverSubscription(id: string, uri: string, from: string): Promise<boolean> {
    const script = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 end return 0"
    const claimed = await this.run(() => this.redis.eval(script, 1, subscriptionsKey(id), uri, from, this.replicaId))
    if (claimed !== 1) return false
    const watching = watchingKey(this.replicaId)
    await this.run(() => this.redis.multi().sadd(watching, id).pexpire(watching, this.keyTtlMs).exec())
    return true
  }

  /** Records a request of the session as running here; resolves how many run on other replicas. */
  async requestStarted(id: string, requestId: string | number): Promise<number> {
    return await this.run(() => this.commands.kmcpBegin(inFlightKey(id), JSON.stringify(requestId), this.replicaId, this.keyTtlMs))
  }

  async requestEnded(id: string, requestId: string | number): Promise<void> {
    await this.run(() => this.redis.hdel(inFlightKey(id), JSON.stringify(requestId)))
  }

  async isAlive(replicaId: string): Promise<boolean> {
    if (replicaId === this.replicaId) return true
    return (await this.run(() => this.redis.exists(aliveKey(replicaId)))) === 1
  }

  /**
   * The session's requests that were running on a replica that is gone, each claimed by this call
   * (HDEL answers 1 to one caller only), so exactly one replica reports each of them. `waiting`
   * says whether some requests run on other replicas that still look alive.
   */
  async claimOrphanedRequests(id: string): Promise<{orphaned: Array<string | number>; waiting: boolean}> {
    const running = await this.run(() => this.redis.hgetall(inFlightKey(id)))
    const orphaned: Array<string | number> = []
    let waiting = false
    for (const [field, replica] of Object.entries(running)) {
      if (replica === this.replicaId) continue
      if (await this.isAlive(replica)) {
        waiting = true
        continue
      }
      if ((await this.run(() => this.redis.hdel(inFlightKey(id), field))) === 1) orphaned.push(JSON.parse(field) as string | number)
    }
    return {orphaned, waiting}
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat)
    // Saying goodbye lets the other replicas report this one's unfinished calls at once.
    // Score 0: another replica claims this one's subscriptions at its next check.
    await this.redis.multi().del(aliveKey(this.replicaId)).zadd(REPLICAS_KEY, 0, this.replicaId).exec().catch(() => undefined)
    this.redis.disconnect()
  }
}

// Hash tags ({...}) put the keys a script or transaction uses together into one Redis Cluster
// slot: a session's keys share {<session id>} (session-bus.ts adds its event streams), the caps
// share {caps} and the replicas' liveness {replicas}. Only the first {...} of a key counts.
const ALL_SESSIONS_KEY = 'kmcp:mcp:{caps}:sessions'
const ownerSessionsKey = (owner: string) => `kmcp:mcp:{caps}:owner:${owner}`
export const sessionKeyPrefix = (id: string) => `kmcp:mcp:session:{${id}}`
const recordKey = (id: string) => sessionKeyPrefix(id)
const levelKey = (id: string) => `${sessionKeyPrefix(id)}:level`
const subscriptionsKey = (id: string) => `${sessionKeyPrefix(id)}:subscriptions`
export const inFlightKey = (id: string) => `${sessionKeyPrefix(id)}:inflight`
const aliveKey = (replica: string) => `kmcp:mcp:{replicas}:${replica}:alive`
const watchingKey = (replica: string) => `kmcp:mcp:{replicas}:${replica}:watching`
const REPLICAS_KEY = 'kmcp:mcp:{replicas}:all'
