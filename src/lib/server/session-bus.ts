import type {Cluster, Redis} from 'ioredis'
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js'
import {connectRedis, type RedisSettings} from '../storage/redis.ts'
import {log} from './logger.ts'
import {inFlightKey, sessionKeyPrefix} from './session-store-redis.ts'
import {parseEventId} from './session-sharing.ts'

/** Events kept per stream for resumption (older ones are trimmed). */
const EVENTS_PER_STREAM = 1000

/** What replicas tell each other about one session, on the session's pub/sub channel. */
export type SessionBusMessage =
  /** A client's answer to a server request: for the server instance with that tag. */
  | {kind: 'response'; tag: string; message: JSONRPCMessage}
  /** The session was deleted: every replica closes its copy. */
  | {kind: 'closed'}

/** An SSE event stored for a stream of a session, announced on that stream's own channel. */
export interface StreamEvent {
  eventId: string
  message: JSONRPCMessage
}

/** A subscription; `ready()` resolves once Redis confirmed it (what is published after that reaches it). */
export interface Listening {
  stop(): void
  /** Rejects at once while the bus is disconnected, or when Redis does not confirm within a few seconds. */
  ready(): Promise<void>
}

/** How long a stream waits for Redis to confirm its subscription before it gives up (503). */
const SUBSCRIBE_WAIT_MS = 3000

type Handler = (raw: string) => void

/** The bus commands, run as scripts by SHA (ioredis defineCommand): the script text is not resent each time. */
interface BusCommands {
  kmcpAppend(key: string, inFlight: string, maxLen: number, entryId: string, message: string, ttlMs: number, channel: string, head: string, tail: string, answered: string): Promise<string>
}

/**
 * Messages that follow the session, not the socket: SSE events go into a Redis stream per session
 * stream (bounded, expiring with the session) and are published on that stream's channel, which
 * only a replica serving the stream (a GET, a resumed stream) listens to; the session's own channel
 * carries the rest (answers to server requests, the end of the session) to every replica holding a copy.
 */
export class SessionBus {
  private readonly redis: Redis | Cluster
  private readonly subscriber: Redis | Cluster
  private readonly handlers = new Map<string, Set<Handler>>()
  private readonly subscribed = new Map<string, Promise<void>>()
  private readonly ttlMs: number

  constructor(settings: RedisSettings, redis: Redis | Cluster, ttlMs: number) {
    this.redis = redis
    this.ttlMs = ttlMs
    this.redis.defineCommand('kmcpAppend', {numberOfKeys: 2, lua: APPEND})
    // Subscriber mode needs its own connection; ioredis subscribes again after a reconnect.
    this.subscriber = connectRedis(settings, {enableOfflineQueue: true, maxRetriesPerRequest: null})
    this.subscriber.on('error', () => undefined)
    this.subscriber.on('message', (channel: string, raw: string) => {
      for (const handler of [...(this.handlers.get(channel) ?? [])]) handler(raw)
    })
  }

  private subscribe(name: string, handler: Handler): Listening {
    let set = this.handlers.get(name)
    if (!set) {
      set = new Set()
      this.handlers.set(name, set)
      const confirmed = this.subscriber.subscribe(name).then(() => undefined)
      confirmed.catch((error: Error) => log.warn('session bus: subscribe failed', {error: error.message}))
      this.subscribed.set(name, confirmed)
    }
    set.add(handler)
    const confirmed = this.subscribed.get(name)!
    return {
      ready: () => {
        if (this.subscriber.status !== 'ready') return Promise.reject(new Error(`session bus not connected (state: ${this.subscriber.status})`))
        let timer: NodeJS.Timeout | undefined
        const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('session bus: redis did not confirm the subscription in time')), SUBSCRIBE_WAIT_MS)))
        return Promise.race([confirmed, late]).finally(() => clearTimeout(timer))
      },
      stop: () => {
        const current = this.handlers.get(name)
        if (!current?.delete(handler) || current.size > 0) return
        this.handlers.delete(name)
        this.subscribed.delete(name)
        void this.subscriber.unsubscribe(name).catch(() => undefined)
      },
    }
  }

  /** Calls `listener` for every message about the session until the returned function is called. */
  listen(sessionId: string, listener: (message: SessionBusMessage) => void): () => void {
    return this.subscribe(channel(sessionId), (raw) => {
      const message = parseJson<SessionBusMessage>(raw)
      if (message) listener(message)
    }).stop
  }

  /** Calls `listener` for every event stored for one stream of the session from now on. */
  listenStream(sessionId: string, streamId: string, listener: (event: StreamEvent) => void): Listening {
    return this.subscribe(streamChannel(sessionId, streamId), (raw) => {
      const event = parseJson<StreamEvent>(raw)
      if (event) listener(event)
    })
  }

  async publish(sessionId: string, message: SessionBusMessage): Promise<void> {
    await this.redis.publish(channel(sessionId), JSON.stringify(message))
  }

  /**
   * Stores an SSE event and announces it, in one round trip; resolves its event id. `entryId`: the
   * id to store it under (made by the caller, see nextEntryId); without it Redis assigns one. An
   * event that answers a request in flight (`answered`: its id) also ends it, in the same trip.
   */
  async append(sessionId: string, streamId: string, message: JSONRPCMessage, options: {entryId?: string; answered?: string | number} = {}): Promise<string> {
    // The announcement embeds the entry id: the script splices it between two halves of the JSON.
    const prefix = `${streamId}|`
    const json = JSON.stringify(message)
    const head = `{"message":${json},"eventId":${JSON.stringify(prefix).slice(0, -1)}`
    const commands = this.redis as unknown as BusCommands
    const answered = options.answered === undefined ? '' : JSON.stringify(options.answered)
    const stored = await commands.kmcpAppend(streamKey(sessionId, streamId), inFlightKey(sessionId), EVENTS_PER_STREAM, options.entryId ?? '*', json, this.ttlMs, streamChannel(sessionId, streamId), head, '"}', answered)
    return `${prefix}${stored}`
  }

  /** The events of a stream stored after `eventId`, oldest first. */
  async after(sessionId: string, eventId: string): Promise<StreamEvent[]> {
    const parsed = parseEventId(eventId)
    if (!parsed) return []
    const entries = await this.redis.xrange(streamKey(sessionId, parsed.streamId), `(${parsed.entryId}`, '+')
    return entries.map(([entryId, fields]) => ({eventId: `${parsed.streamId}|${entryId}`, message: JSON.parse(fields[1] ?? '{}') as JSONRPCMessage}))
  }

  async close(): Promise<void> {
    this.handlers.clear()
    this.subscribed.clear()
    this.subscriber.disconnect()
  }
}

function parseJson<T>(raw: string): T | undefined {
  try {
    return JSON.parse(raw) as T
  } catch {
    return undefined
  }
}

// PUBLISH (not a key) reaches every node of a Redis Cluster, so subscribers on any node hear it.
// An entry id chosen by the replica must be above the stream's last one: a stream gets such ids from
// one replica only (see nextEntryId), but should another one have written meanwhile (it took over
// the stream of a replica it thought dead), Redis picks the id instead: the event is then stored
// after the other's, and a client resuming from the id it was sent may get it twice, never not at all.
const APPEND = `
local id = ARGV[2]
if id ~= '*' then
  local stored = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], id, 'm', ARGV[3])
  if type(stored) == 'table' and stored.err then id = '*' else id = stored end
end
if id == '*' then id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6] .. id .. ARGV[7])
if ARGV[8] ~= '' then redis.call('HDEL', KEYS[2], ARGV[8]) end
return id
`
const CHANNEL_PREFIX = 'kmcp:mcp:bus:'
const channel = (sessionId: string) => `${CHANNEL_PREFIX}${sessionId}`
const streamChannel = (sessionId: string, streamId: string) => `${CHANNEL_PREFIX}${sessionId}:stream:${streamId}`
const streamKey = (sessionId: string, streamId: string) => `${sessionKeyPrefix(sessionId)}:events:${streamId}`
