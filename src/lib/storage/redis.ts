import type {Cluster, Redis, RedisOptions} from 'ioredis'
import {log} from '../server/logger.ts'
import type {KeyValueStore} from './kv.ts'
import {createRedisClient, type RedisConnectionSettings} from './redis-topology.ts'

const READY_WAIT_MS = 2000

/**
 * url: redis:// or rediss:// (host/port/db/password below override its parts), or a Sentinel or
 * Cluster URL (redis-topology.ts).
 */
export type RedisSettings = RedisConnectionSettings

/**
 * A new ioredis connection that fails fast while Redis is down (no offline queue) and keeps
 * reconnecting in the background; `extra` overrides (a subscriber connection queues instead).
 * Every Redis connection of kmcp is made here (OAuth storage, MCP sessions and their bus), for a
 * standalone Redis, the master Sentinel names or a Cluster.
 */
export function connectRedis(settings: RedisSettings, extra: Partial<RedisOptions> = {}): Redis | Cluster {
  return createRedisClient(settings, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
    ...extra,
  })
}

/**
 * Redis through ioredis. Commands fail at once while the connection is down (no offline queue),
 * so a request gets an error instead of hanging, /readyz reports the outage, and ioredis keeps
 * reconnecting in the background so the server recovers without a restart.
 */
export class RedisStore implements KeyValueStore {
  private readonly redis: Redis | Cluster
  private lastState = 'connecting'

  constructor(settings: RedisSettings) {
    this.redis = connectRedis(settings)
    this.redis.on('ready', () => this.noteState('ready'))
    this.redis.on('end', () => this.noteState('closed'))
    this.redis.on('error', (error: Error) => this.noteState('error', error.message))
  }

  /** Logs connection changes once per change, not once per reconnect attempt. */
  private noteState(state: string, detail?: string): void {
    if (state === this.lastState) return
    this.lastState = state
    if (state === 'ready') log.info('redis connected')
    else if (state === 'error') log.warn('redis unavailable; retrying in the background', {error: detail})
  }

  /**
   * Waits briefly for a connection being (re)established, so that requests arriving just after
   * start-up or during a short blip succeed; a longer outage fails fast.
   */
  private async connected(): Promise<Redis | Cluster> {
    if (this.redis.status === 'ready') return this.redis
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.redis.off('ready', onReady)
        reject(new Error(`redis is not connected (state: ${this.redis.status})`))
      }, READY_WAIT_MS)
      const onReady = () => {
        clearTimeout(timer)
        resolve()
      }
      this.redis.once('ready', onReady)
    })
    return this.redis
  }

  async get(key: string): Promise<string | undefined> {
    return (await (await this.connected()).get(key)) ?? undefined
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    const redis = await this.connected()
    if (ttlSeconds) await redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)))
    else await redis.set(key, value)
  }

  async getdel(key: string): Promise<string | undefined> {
    return (await (await this.connected()).getdel(key)) ?? undefined
  }

  async del(key: string): Promise<void> {
    await (await this.connected()).del(key)
  }

  async increment(key: string, ttlSeconds: number): Promise<number> {
    // INCR and EXPIRE in one MULTI: a counter never outlives its window, even if this process dies between the two.
    const replies = await (await this.connected()).multi().incr(key).expire(key, Math.max(1, Math.ceil(ttlSeconds))).exec()
    const [incrError, count] = replies?.[0] ?? [new Error('redis MULTI was aborted'), undefined]
    if (incrError) throw incrError
    return Number(count)
  }

  async ping(): Promise<void> {
    if (this.redis.status !== 'ready') throw new Error(`redis is not connected (state: ${this.redis.status})`)
    await this.redis.ping()
  }

  async close(): Promise<void> {
    this.redis.disconnect()
  }
}
