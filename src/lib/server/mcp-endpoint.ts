import {randomUUID} from 'node:crypto'
import {hostname} from 'node:os'
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {AuthInfo} from '@modelcontextprotocol/sdk/server/auth/types.js'
import {isInitializeRequest, isJSONRPCRequest} from '@modelcontextprotocol/sdk/types.js'
import type {LazyKubeClient} from '../k8s/client.ts'
import type {CallerIdentity} from '../tools/registry.ts'
import {readJsonRpcBody} from './body.ts'
import type {HttpAuthLayer} from './http.ts'
import {sendJsonRpcError} from './json-reply.ts'
import {log} from './logger.ts'
import {SHUTDOWN_ERROR} from './errors.ts'
import type {ServerPolicy} from '../tools/policy/modes.ts'
import {insufficientScope, sendInsufficientScope, withScopes} from './scopes.ts'
import {MemorySessionStore, type SessionLimits, type SessionStore} from './sessions.ts'
import {adoptSubscriptions, createLiveSession, rebuildLiveSession, type LiveSession, type SharedSessions} from './live-session.ts'
import type {ReadinessCheck} from './readiness.ts'
import type {RedisSessionStore, SessionRecord} from './session-store-redis.ts'
import {HEARTBEAT_EVERY_MS, SessionStoreUnavailable} from './session-sharing.ts'
import {reportOrphanedRequests, serveSessionStream, STANDALONE_STREAM} from './session-stream.ts'
import {sendWebResponse, toWebRequest} from './web-bridge.ts'

/** Largest JSON-RPC message accepted on the MCP endpoint. */
export const MAX_MCP_BODY_BYTES = 4 * 1024 * 1024

type AuthedRequest = IncomingMessage & {auth?: AuthInfo}

/** Whether a POST body holds a JSON-RPC request (alone or in a batch). */
function carriesRequest(body: unknown): boolean {
  return (Array.isArray(body) ? body : [body]).some((message) => isJSONRPCRequest(message))
}

/** Reads and parses a JSON body within MAX_MCP_BODY_BYTES, or answers the error. */
function readJsonBody(req: IncomingMessage, res: ServerResponse): Promise<{ok: true; body: unknown} | {ok: false}> {
  return readJsonRpcBody(req, res, MAX_MCP_BODY_BYTES)
}

/**
 * The MCP Streamable HTTP endpoint: authenticates each request (when an auth layer is given),
 * routes it to its session, and opens sessions within the caps of the session store. With
 * `shared` (Redis), any replica serves any session: one it does not hold is rebuilt from Redis.
 */
export class McpEndpoint {
  readonly replicaId: string
  private readonly sessions: SessionStore<LiveSession>
  private readonly kube: LazyKubeClient
  private readonly auth?: HttpAuthLayer
  private readonly anonymousIdentity: CallerIdentity
  private readonly policy?: ServerPolicy
  private readonly scopeGroups?: Record<string, string[]>
  private readonly shared?: SharedSessions
  private readonly rebuilding = new Map<string, Promise<LiveSession | undefined>>()
  private readonly keepOpenTimer?: NodeJS.Timeout
  private readonly takeOverTimer?: NodeJS.Timeout

  constructor(options: {kube: LazyKubeClient; auth?: HttpAuthLayer; anonymousIdentity: CallerIdentity; limits: SessionLimits; policy?: ServerPolicy; scopeGroups?: Record<string, string[]>; shared?: SharedSessions}) {
    this.kube = options.kube
    this.policy = options.policy
    this.scopeGroups = options.scopeGroups
    this.auth = options.auth
    this.anonymousIdentity = options.anonymousIdentity
    this.shared = options.shared
    this.replicaId = options.shared?.store.replicaId ?? `${hostname()}-${randomUUID().slice(0, 8)}`
    this.sessions = new MemorySessionStore<LiveSession>(options.limits, (expired) => {
      log.debug('MCP session closed after being idle', {session_owner: expired.owner})
      void expired.value.server.close().catch(() => undefined)
    })
    if (this.shared) {
      // Sessions with an open stream are in use: keep their Redis record alive.
      const every = Math.max(1000, Math.min(60_000, Math.floor(options.limits.idleTimeoutMs / 3)))
      this.keepOpenTimer = setInterval(() => {
        for (const entry of this.sessions.list()) if (entry.active > 0) void this.shared!.store.touch(entry.id, entry.owner, true).catch(() => undefined)
      }, every)
      this.keepOpenTimer.unref()
      this.takeOverTimer = setInterval(() => void this.takeOverDeadReplicas(), 2 * HEARTBEAT_EVERY_MS)
      this.takeOverTimer.unref()
    }
  }

  /** Takes over the resource watches of replicas that stopped (each claimed by one replica only). */
  private async takeOverDeadReplicas(): Promise<void> {
    const shared = this.shared!
    try {
      for (const {replica, sessions} of await shared.store.claimDeadReplicas()) {
        for (const id of sessions) {
          const record = await shared.store.load(id)
          if (!record) continue
          const entry = this.sessions.get(id)
          if (entry) await adoptSubscriptions(entry.value, record, shared)
          else await this.rebuild(record)
          log.info('took over the resource subscriptions of a stopped replica', {stopped_replica: replica, session_owner: record.owner})
        }
      }
    } catch (error) {
      log.debug('could not check for stopped replicas', {error: error instanceof Error ? error.message : String(error)})
    }
  }

  /** Readiness of what sessions depend on (Redis when sessions are shared). */
  get readinessChecks(): ReadinessCheck[] {
    const shared = this.shared
    return shared ? [{name: 'session-store', check: () => shared.store.ping()}] : []
  }

  async handle(req: AuthedRequest, res: ServerResponse): Promise<void> {
    res.setHeader('x-kmcp-replica', this.replicaId)
    let identity = this.anonymousIdentity
    if (this.auth) {
      const result = await this.auth.authenticate(req, res)
      if (!result) return
      identity = withScopes(result.identity, result.authInfo.scopes, this.scopeGroups)
      req.auth = {...result.authInfo, extra: {...result.authInfo.extra, identity}}
    }
    const owner = identity.subject ?? identity.userId
    const sessionId = req.headers['mcp-session-id']
    if (typeof sessionId === 'string') {
      await this.handleInSession(req, res, sessionId, owner, identity)
      return
    }
    if (req.method !== 'POST') {
      sendJsonRpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header. Send an initialize request (POST) first.')
      return
    }
    const body = await readJsonBody(req, res)
    if (!body.ok) return
    if (!isInitializeRequest(body.body)) {
      sendJsonRpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header. The first request of a session must be initialize.')
      return
    }
    await this.initialize(req, res, body.body, owner, identity)
  }

  private async handleInSession(req: AuthedRequest, res: ServerResponse, sessionId: string, owner: string, identity: CallerIdentity): Promise<void> {
    let entry = this.sessions.get(sessionId)
    if (!entry && this.shared) {
      let record: SessionRecord | undefined
      try {
        record = await this.shared.store.load(sessionId)
      } catch (error) {
        if (!(error instanceof SessionStoreUnavailable)) throw error
        log.warn('MCP request refused: session storage unavailable', {error: error.message})
        sendJsonRpcError(res, 503, -32000, 'Session storage is unavailable; try again shortly.', {'retry-after': String(STORE_RETRY_AFTER_S)})
        return
      }
      if (record && record.owner !== owner) return this.refuseForeign(res, identity)
      if (record) {
        await this.rebuild(record)
        entry = this.sessions.get(sessionId)
        if (!entry) {
          sendJsonRpcError(res, 503, -32000, 'This server cannot take over the session right now (at its session limit, or the rebuild failed); try again shortly.', {'retry-after': String(STORE_RETRY_AFTER_S)})
          return
        }
      }
    }
    if (!entry) {
      sendJsonRpcError(res, 404, -32001, 'Session not found: it expired or the server restarted. Start a new session with an initialize request.')
      return
    }
    if (entry.owner !== owner) return this.refuseForeign(res, identity)
    const body = req.method === 'POST' ? await readJsonBody(req, res) : {ok: true as const, body: undefined}
    if (!body.ok) return
    const scope = insufficientScope(body.body, identity, this.policy)
    if (scope) {
      const tool = (body.body as {params?: {name?: string}}).params?.name
      log.record('audit', {user: identity.userId, subject: identity.subject, transport: 'http', tool, result: 'refused', reason: 'insufficient_scope', refused: 'tools/call', needs: scope})
      sendInsufficientScope(res, scope, String(tool ?? 'this tool'))
      return
    }
    if (this.shared) {
      void this.shared.store.touch(sessionId, owner).catch(() => undefined)
      // A client that cannot resume a broken stream still learns of calls a dead replica left: on the standalone stream.
      // A request checks that as it is recorded (live-session.ts); a POST of notifications or answers checks here.
      if (req.method === 'POST' && !carriesRequest(body.body)) void reportOrphanedRequests(sessionId, STANDALONE_STREAM, this.shared)
    }
    // An open request (a GET stream above all) keeps the session from expiring.
    const end = this.sessions.begin(sessionId)
    res.once('close', end)
    if (this.shared && req.method === 'GET') {
      await serveSessionStream(req, res, {sessionId, ...this.shared})
      return
    }
    const response = await entry.value.transport.handleRequest(toWebRequest(req), {parsedBody: body.body, authInfo: req.auth})
    await sendWebResponse(response, res)
  }

  private refuseForeign(res: ServerResponse, identity: CallerIdentity): void {
    log.record('audit', {user: identity.userId, subject: identity.subject, transport: 'http', result: 'refused', reason: 'session_of_another_user'})
    sendJsonRpcError(res, 403, -32001, 'This session belongs to another user.')
  }

  /** Rebuilds a session from its Redis record once, however many requests for it arrive together. */
  private async rebuild(record: SessionRecord): Promise<void> {
    let pending = this.rebuilding.get(record.id)
    if (!pending) {
      pending = (async () => {
        const place = this.sessions.reserve(record.owner)
        if (!place.ok) {
          log.warn('MCP session not rebuilt: this replica is at its session limit', {session_owner: record.owner, reason: place.refusal.message})
          return undefined
        }
        const made = this.makeSession(record.id, record.identity)
        try {
          const live = await rebuildLiveSession(record, made, this.shared!)
          place.reservation.commit(record.id, live)
          log.info('MCP session rebuilt from redis', {session_owner: record.owner, replica: this.replicaId})
          return live
        } catch (error) {
          log.warn('MCP session could not be rebuilt', {error: error instanceof Error ? error.message : String(error)})
          void made.live.server.close().catch(() => undefined)
          return undefined
        } finally {
          place.reservation.release()
        }
      })().finally(() => this.rebuilding.delete(record.id))
      this.rebuilding.set(record.id, pending)
    }
    await pending
  }

  private makeSession(sessionId: string, identity: CallerIdentity): ReturnType<typeof createLiveSession> {
    return createLiveSession({
      env: {
        kube: this.kube,
        // Each request carries its own token; the auth layer puts the caller into authInfo.extra.
        identityFor: (extra) => (extra.authInfo?.extra?.identity as CallerIdentity | undefined) ?? identity,
        sessionIdentity: identity,
        policy: this.policy,
      },
      sessionId,
      replicaId: this.replicaId,
      shared: this.shared,
      onClosed: (id) => void this.sessions.remove(id),
      onDeleted: (id) => {
        const entry = this.sessions.get(id)
        if (!this.shared || !entry) return
        // DELETE ends the session for every replica.
        void this.shared.store.remove(id, entry.owner).catch(() => undefined)
        void this.shared.bus.publish(id, {kind: 'closed'}).catch(() => undefined)
      },
    })
  }

  private async initialize(req: AuthedRequest, res: ServerResponse, message: unknown, owner: string, identity: CallerIdentity): Promise<void> {
    const sessionId = randomUUID()
    let shared: Awaited<ReturnType<RedisSessionStore['reserve']>> | undefined
    if (this.shared) {
      try {
        shared = await this.shared.store.reserve(owner)
        if (shared.ok) await shared.commit({id: sessionId, owner, initialize: message, identity, subscriptions: {}})
      } catch (error) {
        if (!(error instanceof SessionStoreUnavailable)) throw error
        if (shared?.ok) await shared.release()
        log.warn('new MCP session refused: session storage unavailable', {error: error.message})
        sendJsonRpcError(res, 503, -32000, 'Session storage is unavailable, so no new session can be opened; try again shortly.', {'retry-after': String(STORE_RETRY_AFTER_S)})
        return
      }
      if (!shared.ok) {
        log.warn('new MCP session refused', {status: shared.refusal.status, reason: shared.refusal.message})
        sendJsonRpcError(res, shared.refusal.status, -32000, shared.refusal.message, {'retry-after': String(shared.refusal.retryAfterSeconds)})
        return
      }
    }
    const place = this.sessions.reserve(owner)
    if (!place.ok) {
      sendJsonRpcError(res, place.refusal.status, -32000, place.refusal.message, {'retry-after': String(place.refusal.retryAfterSeconds)})
      if (this.shared) await this.shared.store.remove(sessionId, owner).catch(() => undefined)
      return
    }
    const made = this.makeSession(sessionId, identity)
    let opened = false
    try {
      await made.live.server.connect(made.live.traffic)
      made.activate()
      const response = await made.live.transport.handleRequest(toWebRequest(req), {parsedBody: message, authInfo: req.auth})
      opened = response.status === 200 && made.live.transport.sessionId === sessionId
      if (opened) place.reservation.commit(sessionId, made.live)
      await sendWebResponse(response, res)
    } finally {
      // Initialization that failed leaves no session behind.
      place.reservation.release()
      if (!opened) {
        void made.live.server.close().catch(() => undefined)
        if (this.shared) await this.shared.store.remove(sessionId, owner).catch(() => undefined)
      }
    }
  }

  /**
   * Answers the MCP requests still being handled with SHUTDOWN_ERROR on their own response streams
   * (shutdown after the drain time), so that clients learn at once instead of waiting for their
   * timeout. Returns how many were answered. The session transport knows which are in flight.
   */
  async answerUnfinished(): Promise<number> {
    const counts = await Promise.all(
      this.sessions.list().map(async ({value: session}) => {
        const ids = session.traffic.unfinished()
        await Promise.all(ids.map((id) => session.traffic.send({jsonrpc: '2.0', id, error: SHUTDOWN_ERROR}).catch(() => undefined)))
        return ids.length
      }),
    )
    return counts.reduce((a, b) => a + b, 0)
  }

  /** Closes every session held here (shutdown); with shared sessions they live on in Redis. */
  async close(): Promise<void> {
    clearInterval(this.keepOpenTimer)
    clearInterval(this.takeOverTimer)
    await Promise.allSettled(this.sessions.drain().map((s) => s.value.server.close()))
    if (this.shared) await Promise.allSettled([this.shared.bus.close(), this.shared.store.close()])
  }
}

/** Retry-After (seconds) when Redis, which holds the sessions, is unreachable. */
const STORE_RETRY_AFTER_S = 5
