import type {IncomingMessage, ServerResponse} from 'node:http'
import {StreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type {AuthInfo} from '@modelcontextprotocol/sdk/server/auth/types.js'
import type {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import type {LazyKubeClient} from '../k8s/client.ts'
import type {CallerIdentity} from '../tools/registry.ts'
import type {ServerPolicy} from '../tools/policy/modes.ts'
import {readJsonRpcBody} from './body.ts'
import {SHUTDOWN_ERROR} from './errors.ts'
import type {HttpAuthLayer} from './http.ts'
import {sendJsonRpcError} from './json-reply.ts'
import {SessionTransport} from './session-transport.ts'
import {MAX_MCP_BODY_BYTES} from './mcp-endpoint.ts'
import type {ReadinessCheck} from './readiness.ts'
import {log} from './logger.ts'
import {createMcpServer} from './mcp-server.ts'
import {insufficientScope, sendInsufficientScope, withScopes} from './scopes.ts'

/** Methods that only make sense with a session: their effect would outlive the request's server. */
const NEEDS_SESSION = new Set(['resources/subscribe', 'resources/unsubscribe'])

interface StatelessEndpointOptions {
  kube: LazyKubeClient
  auth?: HttpAuthLayer
  anonymousIdentity: CallerIdentity
  policy?: ServerPolicy
  scopeGroups?: Record<string, string[]>
}

type AuthedRequest = IncomingMessage & {auth?: AuthInfo}

interface Running {
  server: McpServer
  transport: SessionTransport
}

/**
 * `kmcp serve --transport http --stateless`: every POST is served by a fresh MCP server and
 * transport (the SDK's stateless mode, `sessionIdGenerator: undefined`), so any replica answers any
 * request without shared state. The price: no Mcp-Session-Id, no server-to-client requests
 * (destructive tools then need their explicit confirm flag), no subscriptions, no notifications
 * outside the POST that caused them, no resumable streams. GET and DELETE answer 405.
 */
export class StatelessMcpEndpoint {
  private readonly running = new Set<Running>()
  private readonly options: StatelessEndpointOptions

  constructor(options: StatelessEndpointOptions) {
    this.options = options
  }

  /** Nothing outlives a request: no dependency of its own to check. */
  readonly readinessChecks: ReadinessCheck[] = []
  readonly replicaId = undefined

  async handle(req: AuthedRequest, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      sendJsonRpcError(res, 405, -32000, `Method Not Allowed: this server runs in stateless mode (--stateless): there are no sessions, so no GET stream and no DELETE. Send every request as a POST without an Mcp-Session-Id header.`, {allow: 'POST'})
      return
    }
    let identity = this.options.anonymousIdentity
    if (this.options.auth) {
      const result = await this.options.auth.authenticate(req, res)
      if (!result) return
      identity = withScopes(result.identity, result.authInfo.scopes, this.options.scopeGroups)
      req.auth = {...result.authInfo, extra: {...result.authInfo.extra, identity}}
    }
    const body = await readJsonRpcBody(req, res, MAX_MCP_BODY_BYTES)
    if (!body.ok) return
    const messages = (Array.isArray(body.body) ? body.body : [body.body]) as Array<{method?: unknown}>
    const sessionOnly = messages.find((m) => typeof m?.method === 'string' && NEEDS_SESSION.has(m.method))
    if (sessionOnly) {
      sendJsonRpcError(res, 400, -32601, `${String(sessionOnly.method)} is not available: this server runs in stateless mode (--stateless), where nothing outlives one request. Read the resource again instead of subscribing.`)
      return
    }
    const scope = insufficientScope(body.body, identity, this.options.policy)
    if (scope) {
      const tool = (body.body as {params?: {name?: string}}).params?.name
      log.record('audit', {user: identity.userId, subject: identity.subject, transport: 'http', tool, result: 'refused', reason: 'insufficient_scope', refused: 'tools/call', needs: scope})
      sendInsufficientScope(res, scope, String(tool ?? 'this tool'))
      return
    }
    const server = createMcpServer({
      kube: this.options.kube,
      identityFor: (extra) => (extra.authInfo?.extra?.identity as CallerIdentity | undefined) ?? identity,
      sessionIdentity: identity,
      policy: this.options.policy,
      clientRequests: false,
    })
    // The wrapper knows which requests are in flight (shutdown answers them); stateless: no server requests to tag.
    const http = new StreamableHTTPServerTransport({sessionIdGenerator: undefined})
    const transport = new SessionTransport(http, 'stateless')
    const entry: Running = {server, transport}
    this.running.add(entry)
    res.once('close', () => {
      this.running.delete(entry)
      void server.close().catch(() => undefined)
    })
    await server.connect(transport)
    await http.handleRequest(req, res, body.body)
  }

  /** Answers the requests still running with SHUTDOWN_ERROR (shutdown after the drain time); returns how many. */
  async answerUnfinished(): Promise<number> {
    const counts = await Promise.all(
      [...this.running].map(async ({transport}) => {
        const ids = transport.unfinished()
        await Promise.all(ids.map((id) => transport.send({jsonrpc: '2.0', id, error: SHUTDOWN_ERROR}).catch(() => undefined)))
        return ids.length
      }),
    )
    return counts.reduce((a, b) => a + b, 0)
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.running].map(({server}) => server.close()))
    this.running.clear()
  }
}
