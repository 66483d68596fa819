import {WebStandardStreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import type {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import type {RequestId} from '@modelcontextprotocol/sdk/types.js'
import type {ToolEnvironment} from '../tools/registry.ts'
import {log, throttledWarning} from './logger.ts'
import {createMcpServer} from './mcp-server.ts'
import {RedisEventStore} from './event-store-redis.ts'
import type {SessionBus} from './session-bus.ts'
import type {RedisSessionStore, SessionRecord} from './session-store-redis.ts'
import {STANDALONE_STREAM} from './session-sharing.ts'
import {reportOrphanedRequests} from './session-stream.ts'
import {SessionTransport} from './session-transport.ts'
import {syntheticPost} from './web-bridge.ts'

/** Redis-backed sharing of sessions between replicas (absent: sessions live in this process only). */
export interface SharedSessions {
  store: RedisSessionStore
  bus: SessionBus
}

/** One session served by this process: an McpServer behind a web-standard transport. */
export interface LiveSession {
  server: McpServer
  transport: WebStandardStreamableHTTPServerTransport
  traffic: SessionTransport
}

let instances = 0

/**
 * How long a tool call waits for Redis to record it before it runs unrecorded: a Redis that accepts
 * connections but does not answer must not hang every tool call (the record only lets another
 * replica report the call should this one die).
 */
const RECORD_WAIT_MS = 10_000
const warnUnrecorded = throttledWarning()

/** `recorded`, or after `ms` a warning and a settled promise, whichever comes first. */
function recordedWithin(recorded: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      warnUnrecorded(`session store: a tool call was not recorded in redis within ${ms / 1000} s; it runs without being reported should this replica stop`)
      resolve()
    }, ms)
  })
  return Promise.race([recorded, late]).finally(() => clearTimeout(timer))
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Makes the server and transport of a session. With `shared`, what the session needs to be
 * rebuilt elsewhere (log level, subscriptions, requests in flight) is written to Redis as it
 * happens, SSE events go to the Redis event store, and the session listens on its bus channel.
 */
export function createLiveSession(options: {
  env: ToolEnvironment
  sessionId: string
  replicaId: string
  shared?: SharedSessions
  onClosed: (id: string) => void
  onDeleted: (id: string) => void
}): {live: LiveSession; events?: RedisEventStore; activate: () => void} {
  const {sessionId, shared} = options
  const tag = `${options.replicaId}.${++instances}`
  const events = shared ? new RedisEventStore(shared.bus, sessionId) : undefined
  let active = false
  const server = createMcpServer(options.env)
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => sessionId,
    eventStore: events,
    onsessionclosed: (id) => options.onDeleted(id),
  })
  const remember = (work: () => Promise<void>, what: string) => {
    if (!active || !shared) return
    work().catch((error: unknown) => log.debug(`session store: could not record ${what}`, {error: describe(error)}))
  }
  const traffic = new SessionTransport(transport, tag, {
    requestStarted: (id: RequestId, method: string, params: unknown) => {
      if (!shared || !active) return
      // One round trip records the request and says whether requests run elsewhere (some may be left by a replica that died).
      const recorded = shared.store.requestStarted(sessionId, id).then(
        (elsewhere) => void (elsewhere > 0 && reportOrphanedRequests(sessionId, STANDALONE_STREAM, shared)),
        (error: unknown) => warnUnrecorded('session store: could not record a request in redis; it runs without being reported should this replica stop', {error: describe(error)}),
      )
      const p = params as {level?: string; uri?: string} | undefined
      if (method === 'logging/setLevel' && p?.level) remember(() => shared.store.setLogLevel(sessionId, p.level!), 'the log level')
      if (method === 'resources/subscribe' && p?.uri) remember(() => shared.store.setSubscription(sessionId, p.uri!, true), 'a subscription')
      if (method === 'resources/unsubscribe' && p?.uri) remember(() => shared.store.setSubscription(sessionId, p.uri!, false), 'a subscription')
      // A tool runs only once its call is recorded: should this replica die, another one reports the call.
      return method === 'tools/call' ? recordedWithin(recorded, RECORD_WAIT_MS) : undefined
    },
    requestEnded: (id: RequestId, answered: boolean) => {
      // An answer stored as an SSE event ends the request in the same round trip (RedisEventStore).
      if (shared && !answered) remember(() => shared.store.requestEnded(sessionId, id), 'a finished request')
    },
    foreignResponse: (message, to) => {
      if (!shared) return
      shared.bus.publish(sessionId, {kind: 'response', tag: to, message}).catch((error: unknown) => log.warn('session bus: could not forward a client answer to the replica waiting for it', {error: describe(error)}))
    },
  })
  const stopListening = shared?.bus.listen(sessionId, (message) => {
    if (message.kind === 'response' && message.tag === tag) traffic.deliverResponse(message.message)
    else if (message.kind === 'closed') void server.close().catch(() => undefined)
  })
  // Set before McpServer.connect, which chains its own close handling after it.
  traffic.onclose = () => {
    stopListening?.()
    options.onClosed(sessionId)
  }
  return {live: {server, transport, traffic}, events, activate: () => void (active = true)}
}

async function replay(transport: WebStandardStreamableHTTPServerTransport, sessionId: string | undefined, message: unknown): Promise<void> {
  const response = await transport.handleRequest(syntheticPost(sessionId, message), {parsedBody: message})
  const text = await response.text()
  if (response.status >= 400) throw new Error(`replaying ${(message as {method?: string}).method} failed with ${response.status}: ${text.slice(0, 200)}`)
}

/**
 * Rebuilds a session this replica does not hold, from its Redis record, with public SDK APIs only:
 * a fresh server whose transport's session id is the stored one receives the stored initialize
 * request (and then notifications/initialized, the log level and the subscriptions whose replica
 * is gone), its replies discarded. Calls in flight are never replayed: nothing runs twice.
 */
export async function rebuildLiveSession(record: SessionRecord, made: ReturnType<typeof createLiveSession>, shared: SharedSessions): Promise<LiveSession> {
  const {live, events} = made
  if (events) events.muted = true
  await live.server.connect(live.traffic)
  try {
    await replay(live.transport, undefined, record.initialize)
    await replay(live.transport, record.id, {jsonrpc: '2.0', method: 'notifications/initialized'})
    if (record.logLevel) await replay(live.transport, record.id, {jsonrpc: '2.0', id: 'kmcp-rebuild-level', method: 'logging/setLevel', params: {level: record.logLevel}})
    await adoptSubscriptions(live, record, shared, true)
  } finally {
    if (events) events.muted = false
  }
  made.activate()
  return live
}

/**
 * Subscribes this replica's copy of the session to what a replica that is gone was watching for
 * it (claimed per URI, so exactly one replica takes each over). `own`: also what the record says
 * this replica watches (a copy rebuilt after this replica closed its previous one).
 */
export async function adoptSubscriptions(live: LiveSession, record: SessionRecord, shared: SharedSessions, own = false): Promise<number> {
  let adopted = 0
  for (const [uri, replica] of Object.entries(record.subscriptions)) {
    const mine = replica === shared.store.replicaId ? own : !(await shared.store.isAlive(replica)) && (await shared.store.takeOverSubscription(record.id, uri, replica))
    if (!mine) continue
    await replay(live.transport, record.id, {jsonrpc: '2.0', id: `kmcp-adopt-${++instances}`, method: 'resources/subscribe', params: {uri}})
    adopted++
  }
  return adopted
}
