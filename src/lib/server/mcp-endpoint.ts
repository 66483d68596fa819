import {randomUUID} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {StreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type {AuthInfo} from '@modelcontextprotocol/sdk/server/auth/types.js'
import type {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import {isInitializeRequest} from '@modelcontextprotocol/sdk/types.js'
import type {LazyKubeClient} from '../k8s/client.ts'
import type {CallerIdentity} from '../tools/registry.ts'
import {BodyError, readBodyWithin} from './body.ts'
import type {HttpAuthLayer} from './http.ts'
import {sendJsonRpcError} from './json-reply.ts'
import {log} from './logger.ts'
import {createMcpServer} from './mcp-server.ts'
import {SHUTDOWN_ERROR} from './errors.ts'
import type {ServerPolicy} from '../tools/policy/modes.ts'
import {insufficientScope, sendInsufficientScope, withScopes} from './scopes.ts'
import {MemorySessionStore, type SessionLimits, type SessionStore} from './sessions.ts'

/** Largest JSON-RPC message accepted on the MCP endpoint. */
export const MAX_MCP_BODY_BYTES = 4 * 1024 * 1024

interface LiveSession {
  transport: StreamableHTTPServerTransport
  server: McpServer
}

type AuthedRequest = IncomingMessage & {auth?: AuthInfo}

/** Reads and parses a JSON body; undefined plus a written error response when it is not JSON. */
async function readJsonBody(req: IncomingMessage, res: ServerResponse): Promise<{ok: true; body: unknown} | {ok: false}> {
  let raw: Buffer
  try {
    raw = await readBodyWithin(req, MAX_MCP_BODY_BYTES)
  } catch (error) {
    if (!(error instanceof BodyError)) throw error
    sendJsonRpcError(res, error.status, -32600, `Request refused: ${error.message}`, {connection: 'close'})
    return {ok: false}
  }
  try {
    return {ok: true, body: JSON.parse(raw.toString('utf8'))}
  } catch (error) {
    sendJsonRpcError(res, 400, -32700, `Parse error: the request body is not valid JSON (${(error as Error).message})`)
    return {ok: false}
  }
}

/**
 * The MCP Streamable HTTP endpoint: authenticates each request (when an auth layer is given),
 * routes it to its session, and opens sessions within the caps of the session store.
 */
export class McpEndpoint {
  private readonly sessions: SessionStore<LiveSession>
  private readonly kube: LazyKubeClient
  private readonly auth?: HttpAuthLayer
  private readonly anonymousIdentity: CallerIdentity
  private readonly policy?: ServerPolicy
  private readonly scopeGroups?: Record<string, string[]>

  constructor(options: {kube: LazyKubeClient; auth?: HttpAuthLayer; anonymousIdentity: CallerIdentity; limits: SessionLimits; policy?: ServerPolicy; scopeGroups?: Record<string, string[]>}) {
    this.kube = options.kube
    this.policy = options.policy
    this.scopeGroups = options.scopeGroups
    this.auth = options.auth
    this.anonymousIdentity = options.anonymousIdentity
    this.sessions = new MemorySessionStore<LiveSession>(options.limits, (expired) => {
      log.debug('MCP session closed after being idle', {session_owner: expired.owner})
      void expired.value.server.close().catch(() => undefined)
    })
  }

  async handle(req: AuthedRequest, res: ServerResponse): Promise<void> {
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
      const session = this.sessions.get(sessionId)
      if (!session) {
        sendJsonRpcError(res, 404, -32001, 'Session not found: it expired or the server restarted. Start a new session with an initialize request.')
        return
      }
      if (session.owner !== owner) {
        sendJsonRpcError(res, 403, -32001, 'This session belongs to another user.')
        return
      }
      const body = req.method === 'POST' ? await readJsonBody(req, res) : {ok: true as const, body: undefined}
      if (!body.ok) return
      const scope = insufficientScope(body.body, identity, this.policy)
      if (scope) {
        const tool = (body.body as {params?: {name?: string}}).params?.name
        log.record('audit', {user: identity.userId, subject: identity.subject, transport: 'http', tool, result: 'refused', reason: 'insufficient_scope', refused: 'tools/call', needs: scope})
        sendInsufficientScope(res, scope, String(tool ?? 'this tool'))
        return
      }
      // An open request (a GET stream above all) keeps the session from expiring.
      const end = this.sessions.begin(sessionId)
      res.once('close', end)
      await session.value.transport.handleRequest(req, res, body.body)
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
    const place = this.sessions.reserve(owner)
    if (!place.ok) {
      sendJsonRpcError(res, place.refusal.status, -32000, place.refusal.message, {'retry-after': String(place.refusal.retryAfterSeconds)})
      return
    }
    const server = createMcpServer({
      kube: this.kube,
      // Each request carries its own token; the auth layer puts the caller into authInfo.extra.
      identityFor: (extra) => (extra.authInfo?.extra?.identity as CallerIdentity | undefined) ?? identity,
      sessionIdentity: identity,
      policy: this.policy,
    })
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id: string): void => place.reservation.commit(id, {transport, server}),
      onsessionclosed: (id: string): void => void this.sessions.remove(id),
    })
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.remove(transport.sessionId)
    }
    try {
      await server.connect(transport)
      await transport.handleRequest(req, res, body.body)
    } finally {
      // Initialization that failed leaves no session behind.
      place.reservation.release()
      if (!transport.sessionId) void server.close().catch(() => undefined)
    }
  }

  /**
   * Answers the MCP requests still being handled with SHUTDOWN_ERROR on their own response streams
   * (shutdown after the drain time), so that clients learn at once instead of waiting for their
   * timeout. Returns how many were answered. The in-flight requests are the SDK's (private, pinned)
   * `_requestHandlerAbortControllers`.
   */
  async answerUnfinished(): Promise<number> {
    const counts = await Promise.all(
      this.sessions.list().map(async ({value: session}) => {
        const running = (session.server.server as unknown as {_requestHandlerAbortControllers?: Map<string | number, AbortController>})._requestHandlerAbortControllers
        const ids = [...(running?.keys() ?? [])]
        await Promise.all(ids.map((id) => session.transport.send({jsonrpc: '2.0', id, error: SHUTDOWN_ERROR}).catch(() => undefined)))
        return ids.length
      }),
    )
    return counts.reduce((a, b) => a + b, 0)
  }

  /** Closes every session (shutdown). */
  async close(): Promise<void> {
    await Promise.allSettled(this.sessions.drain().map((s) => s.value.server.close()))
  }
}
