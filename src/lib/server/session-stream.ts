import type {IncomingMessage, ServerResponse} from 'node:http'
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js'
import {REPLICA_STOPPED_ERROR} from './errors.ts'
import {nextEntryIdAbove} from './event-store-redis.ts'
import {sendJsonRpcError} from './json-reply.ts'
import {log} from './logger.ts'
import type {SessionBus} from './session-bus.ts'
import type {RedisSessionStore} from './session-store-redis.ts'
import {HEARTBEAT_TTL_MS, parseEventId, STANDALONE_STREAM} from './session-sharing.ts'

export {STANDALONE_STREAM}

const KEEPALIVE_MS = 15_000
/** How long a stream keeps checking whether the replica of an unfinished request died. */
const ORPHAN_WATCH_MS = 15_000

function newer(entryId: string, than: string): boolean {
  const [a1, a2] = entryId.split('-').map(Number)
  const [b1, b2] = than.split('-').map(Number)
  return a1 > b1 || (a1 === b1 && a2 > b2)
}

/**
 * A session's GET stream, served from Redis rather than from one transport: the standalone stream
 * (resource updates, log messages) or, with Last-Event-ID, the continuation of any stream of the
 * session, whichever replica wrote its events. It replays what the client missed, then forwards
 * what any replica stores for that stream. Requests left unfinished by a replica that died are
 * answered here with an error, claimed so that exactly one replica reports each.
 */
export async function serveSessionStream(req: IncomingMessage, res: ServerResponse, options: {sessionId: string; bus: SessionBus; store: RedisSessionStore}): Promise<void> {
  const {sessionId, bus} = options
  const lastEventId = typeof req.headers['last-event-id'] === 'string' ? req.headers['last-event-id'] : undefined
  const resumed = lastEventId ? parseEventId(lastEventId) : undefined
  if (lastEventId && !resumed) {
    sendJsonRpcError(res, 400, -32000, 'Bad Request: Last-Event-ID is not an event id of this server. Open the stream without it.')
    return
  }
  if (!String(req.headers.accept ?? '').includes('text/event-stream')) {
    sendJsonRpcError(res, 406, -32000, 'Not Acceptable: Client must accept text/event-stream')
    return
  }
  const streamId = resumed?.streamId ?? STANDALONE_STREAM
  let lastSent = resumed?.entryId ?? '0-0'
  let replaying = true
  let closed = false
  const buffered: Array<{eventId: string; message: JSONRPCMessage}> = []
  const write = (eventId: string, message: JSONRPCMessage) => {
    const entryId = parseEventId(eventId)?.entryId
    if (closed || !entryId || !newer(entryId, lastSent)) return
    lastSent = entryId
    // A stored priming event (empty message) is replayed as one: an id without data.
    const data = Object.keys(message).length === 0 ? '' : JSON.stringify(message)
    res.write(data ? `event: message\nid: ${eventId}\ndata: ${data}\n\n` : `id: ${eventId}\ndata: \n\n`)
  }
  const listening = bus.listenStream(sessionId, streamId, (event) => {
    if (replaying) buffered.push(event)
    else write(event.eventId, event.message)
  })
  let keepalive: NodeJS.Timeout | undefined
  let orphanTimer: NodeJS.Timeout | undefined
  const stop = () => {
    closed = true
    listening.stop()
    clearInterval(keepalive)
    clearTimeout(orphanTimer)
  }
  res.once('close', stop)
  let missed: Array<{eventId: string; message: JSONRPCMessage}>
  try {
    // Listening before reading: an event stored meanwhile (another replica's write may lag) is heard if not read.
    await listening.ready()
    // The first event id of a new stream lets the client resume it on any replica.
    missed = lastEventId ? await bus.after(sessionId, lastEventId) : [{eventId: await bus.append(sessionId, streamId, {} as JSONRPCMessage), message: {} as JSONRPCMessage}]
  } catch (error) {
    log.warn('session stream refused: redis failed while opening it', {error: error instanceof Error ? error.message : String(error)})
    stop()
    sendJsonRpcError(res, 503, -32000, 'Session storage is unavailable; reconnect shortly.', {'retry-after': '5'})
    return
  }
  res.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no', 'mcp-session-id': sessionId})
  res.flushHeaders()
  if (!closed) keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS)
  for (const event of missed) write(event.eventId, event.message)
  replaying = false
  for (const event of buffered.splice(0)) write(event.eventId, event.message)
  const watchUntil = Date.now() + ORPHAN_WATCH_MS
  const watch = async () => {
    if (closed) return
    const waiting = await reportOrphanedRequests(sessionId, streamId, options, resumed ? lastSent : undefined)
    if (waiting && !closed && Date.now() < watchUntil) orphanTimer = setTimeout(() => void watch(), HEARTBEAT_TTL_MS / 3)
  }
  await watch()
}

/**
 * Answers, on `streamId`, the session's requests left unfinished by a replica that died; each is
 * claimed first, so exactly one replica reports it. Resolves whether some requests still run on
 * replicas that look alive.
 */
export async function reportOrphanedRequests(sessionId: string, streamId: string, options: {bus: SessionBus; store: RedisSessionStore}, after?: string): Promise<boolean> {
  try {
    const {orphaned, waiting} = await options.store.claimOrphanedRequests(sessionId)
    for (const id of orphaned) {
      log.record('audit', {transport: 'http', result: 'failed', reason: 'replica_stopped', session: sessionId, request_id: id, reported_by: options.store.replicaId})
      // On a stream the client resumed from `after`: an id above it, whatever the clocks of the
      // replica that wrote the stream and of Redis (which may hold nothing of it yet).
      const entryId = after === undefined ? undefined : (after = nextEntryIdAbove(after))
      await options.bus.append(sessionId, streamId, {jsonrpc: '2.0', id, error: REPLICA_STOPPED_ERROR}, {entryId})
    }
    return waiting
  } catch (error) {
    log.debug('could not check for requests left by a stopped replica', {error: error instanceof Error ? error.message : String(error)})
    return false
  }
}
