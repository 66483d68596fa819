import type {Cluster, Redis} from 'ioredis'
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js'
import {connectRedis, type RedisSettings} from '../storage/redis.ts'
import {log} from './logger.ts'
import {sessionKeyPrefix} from './session-store-redis.ts'
import {parseEventId} from './session-sharing.ts'

/** Events kept per stream for resumption (older ones are trimmed). */
const EVENTS_PER_STREAM = 1000

/** What replicas tell each other about one session, on the session's pub/sub channel. */
export type SessionBusMessage =
  /** An SSE event stored for a stream of the session: whoever holds that stream delivers it. */
  | {kind: 'event'; streamId: string; eventId: string; message: JSONRPCMessage}
  /** A client's answer to a server request: for the server instance with that tag. */
  | {kind: 'response'; tag: string; message: JSONRPCMessage}
  /** The session was deleted: every replica closes its copy. */
  | {kind: 'closed'}

type Listener = (message: SessionBusMessage) => void

/**
 * Messages that follow the session, not the socket: SSE events go into a Redis stream per session
 * stream (bounded, expiring with the session) and are published on the session's channel, which
 * every replica holding a copy of the session listens to.
 */
export class SessionBus {
  private readonly redis: Redis | Cluster
  private readonly subscriber: Redis | Cluster
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly ttlMs: number

  constructor(settings: RedisSettings, redis: Redis | Cluster, ttlMs: number) {
    this.redis = redis
    this.ttlMs = ttlMs
    // Subscriber mode needs its own connection; ioredis subscribes again after a reconnect.
    this.subscriber = connectRedis(settings, {enableOfflineQueue: true, maxRetriesPerRequest: null})
    this.subscriber.on('error', () => undefined)
    this.subscriber.on('message', (channel: string, raw: string) => {
      const listeners = this.listeners.get(channel.slice(CHANNEL_PREFIX.length))
      if (!listeners) return
      let message: SessionBusMessage
      try {
        message = JSON.parse(raw) as SessionBusMessage
      } catch {
        return
      }
      for (const listener of [...listeners]) listener(message)
    })
  }

  /** Calls `listener` for every message about the session until the returned function is called. */
  listen(sessionId: string, listener: Listener): () => void {
    let set = this.listeners.get(sessionId)
    if (!set) {
      set = new Set()
      this.listeners.set(sessionId, set)
      void this.subscriber.subscribe(channel(sessionId)).catch((error: Error) => log.warn('session bus: subscribe failed', {error: error.message}))
    }
    set.add(listener)
    return () => {
      const current = this.listeners.get(sessionId)
      if (!current?.delete(listener) || current.size > 0) return
      this.listeners.delete(sessionId)
      void this.subscriber.unsubscribe(channel(sessionId)).catch(() => undefined)
    }
  }

  async publish(sessionId: string, message: SessionBusMessage): Promise<void> {
    await this.redis.publish(channel(sessionId), JSON.stringify(message))
  }

  /** Stores an SSE event and announces it, in one round trip; returns its event id. */
  async append(sessionId: string, streamId: string, message: JSONRPCMessage): Promise<string> {
    // The announcement embeds the entry id Redis assigns: the script splices it between two halves of the JSON.
    const head = `{"kind":"event","streamId":${JSON.stringify(streamId)},"message":${JSON.stringify(message)},"eventId":${JSON.stringify(streamId).slice(0, -1)}|`
    const entryId = (await this.redis.eval(APPEND, 1, streamKey(sessionId, streamId), EVENTS_PER_STREAM, JSON.stringify(message), this.ttlMs, channel(sessionId), head, '"}')) as string
    return `${streamId}|${entryId}`
  }

  /** The events of a stream stored after `eventId`, oldest first. */
  async after(sessionId: string, eventId: string): Promise<Array<{eventId: string; message: JSONRPCMessage}>> {
    const parsed = parseEventId(eventId)
    if (!parsed) return []
    const entries = await this.redis.xrange(streamKey(sessionId, parsed.streamId), `(${parsed.entryId}`, '+')
    return entries.map(([entryId, fields]) => ({eventId: `${parsed.streamId}|${entryId}`, message: JSON.parse(fields[1] ?? '{}') as JSONRPCMessage}))
  }

  async close(): Promise<void> {
    this.listeners.clear()
    this.subscriber.disconnect()
  }
}

// PUBLISH (not a key) reaches every node of a Redis Cluster, so subscribers on any node hear it.
const APPEND = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. id .. ARGV[6])
return id
`
const CHANNEL_PREFIX = 'kmcp:mcp:bus:'
const channel = (sessionId: string) => `${CHANNEL_PREFIX}${sessionId}`
const streamKey = (sessionId: string, streamId: string) => `${sessionKeyPrefix(sessionId)}:events:${streamId}`
