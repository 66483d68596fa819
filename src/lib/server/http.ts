import {randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {StreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type {AuthInfo} from '@modelcontextprotocol/sdk/server/auth/types.js'
import type {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import {isInitializeRequest} from '@modelcontextprotocol/sdk/types.js'
import type {CallerIdentity} from '../tools/registry.ts'
import type {LazyKubeClient} from '../k8s/client.ts'
import {ListenError} from './errors.ts'
import {log} from './logger.ts'
import {createMcpServer} from './mcp-server.ts'
import {type ReadinessCheck, runReadinessChecks} from './readiness.ts'
import type {ServerPolicy} from '../tools/policy/modes.ts'
import {insufficientScope, sendInsufficientScope, withScopes} from './scopes.ts'

/** What an HTTP front (the OAuth layer) adds to the plain MCP endpoint. */
export interface HttpAuthLayer {
  /**
   * Handles the routes the auth layer owns (metadata, /authorize, /token, …). Returns true when
   * it answered the request.
   */
  handleRoute(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>
  /**
   * Authenticates a request to the MCP endpoint. Answers 401/403 itself and returns undefined
   * when the request may not go on.
   */
  authenticate(req: IncomingMessage, res: ServerResponse): Promise<{authInfo: AuthInfo; identity: CallerIdentity} | undefined>
  readinessChecks: ReadinessCheck[]
  close(): Promise<void>
}

export interface HttpServeOptions {
  host: string
  port: number
  path: string
  kube: LazyKubeClient
  auth?: HttpAuthLayer
  /** Identity for unauthenticated mode (auth off on loopback or --insecure-no-auth). */
  anonymousIdentity: CallerIdentity
  /** Server modes (--read-only, --namespaces, ...). */
  policy?: ServerPolicy
  /** Default kmcp scopes per identity-provider group (scope_groups in oidc.yaml). */
  scopeGroups?: Record<string, string[]>
  /** How long SIGTERM waits for in-flight requests before closing them. */
  drainTimeoutMs?: number
}

interface Session {
  transport: StreamableHTTPServerTransport
  server: McpServer
  /** The user that opened the session; requests from anyone else are refused. */
  userId: string
}

export interface RunningHttpServer {
  server: Server
  url: string
  /** Stops accepting connections, drains in-flight requests, closes sessions. */
  shutdown(): Promise<void>
}

type AuthedRequest = IncomingMessage & {auth?: AuthInfo}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return
  res.writeHead(status, {'content-type': 'application/json', 'cache-control': 'no-store', ...headers})
  res.end(JSON.stringify(body))
}

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, {jsonrpc: '2.0', error: {code, message}, id: null})
}

/** Reads and parses a JSON body; undefined plus a written error response when it is not JSON. */
async function readJsonBody(req: IncomingMessage, res: ServerResponse, limitBytes: number): Promise<{ok: true; body: unknown} | {ok: false}> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limitBytes) {
      jsonRpcError(res, 413, -32600, `Request body larger than ${limitBytes} bytes`)
      return {ok: false}
    }
    chunks.push(chunk as Buffer)
  }
  try {
    return {ok: true, body: JSON.parse(Buffer.concat(chunks).toString('utf8'))}
  } catch (error) {
    jsonRpcError(res, 400, -32700, `Parse error: the request body is not valid JSON (${(error as Error).message})`)
    return {ok: false}
  }
}

/**
 * MCP Streamable HTTP at `options.path`, plus /healthz and /readyz. Sessions are kept in memory
 * in this process (one McpServer per session).
 */
export async function serveHttp(options: HttpServeOptions): Promise<RunningHttpServer> {
  const sessions = new Map<string, Session>()
  let inFlight = 0
  let draining = false
  const readinessChecks: ReadinessCheck[] = [
    {
      name: 'kubernetes',
      check: async () => {
        const kube = await options.kube.get()
        await kube.request({
          method: 'POST',
          path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
          body: {apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview'},
          signal: AbortSignal.timeout(3000),
        })
      },
    },
    ...(options.auth?.readinessChecks ?? []),
  ]

  async function handleMcp(req: AuthedRequest, res: ServerResponse): Promise<void> {
    let identity = options.anonymousIdentity
    if (options.auth) {
      const result = await options.auth.authenticate(req, res)
      if (!result) return
      identity = withScopes(result.identity, result.authInfo.scopes, options.scopeGroups)
      req.auth = {...result.authInfo, extra: {...result.authInfo.extra, identity}}
    }
    const sessionId = req.headers['mcp-session-id']
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId)
      if (!session) {
        jsonRpcError(res, 404, -32001, 'Session not found: it expired or the server restarted. Start a new session with an initialize request.')
        return
      }
      if (session.userId !== identity.userId) {
        jsonRpcError(res, 403, -32001, 'This session belongs to another user.')
        return
      }
      const body = req.method === 'POST' ? await readJsonBody(req, res, 4 * 1024 * 1024) : {ok: true as const, body: undefined}
      if (!body.ok) return
      const scope = insufficientScope(body.body, identity, options.policy)
      if (scope) {
        log.record('audit', {user: identity.userId, transport: 'http', tool: (body.body as {params?: {name?: string}}).params?.name, result: 'refused', reason: 'insufficient_scope', refused: 'tools/call', needs: scope})
        sendInsufficientScope(res, scope, String((body.body as {params?: {name?: string}}).params?.name ?? 'this tool'))
        return
      }
      await session.transport.handleRequest(req, res, body.body)
      return
    }
    if (req.method !== 'POST') {
      jsonRpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header. Send an initialize request (POST) first.')
      return
    }
    const body = await readJsonBody(req, res, 4 * 1024 * 1024)
    if (!body.ok) return
    if (!isInitializeRequest(body.body)) {
      jsonRpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header. The first request of a session must be initialize.')
      return
    }
    const server = createMcpServer({
      kube: options.kube,
      // Each request carries its own token; the auth layer puts the caller into authInfo.extra.
      identityFor: (extra) => (extra.authInfo?.extra?.identity as CallerIdentity | undefined) ?? identity,
      sessionIdentity: identity,
      policy: options.policy,
    })
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, {transport, server, userId: identity.userId})
      },
      onsessionclosed: (id) => {
        sessions.delete(id)
      },
    })
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId)
    }
    await server.connect(transport)
    await transport.handleRequest(req, res, body.body)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJson(res, 200, {status: 'ok'})
      return
    }
    if (url.pathname === '/readyz' && (req.method === 'GET' || req.method === 'HEAD')) {
      if (draining) {
        sendJson(res, 503, {status: 'draining', checks: []})
        return
      }
      const report = await runReadinessChecks(readinessChecks)
      sendJson(res, report.ready ? 200 : 503, report)
      return
    }
    if (options.auth && (await options.auth.handleRoute(req, res, url))) return
    if (url.pathname === options.path || url.pathname === `${options.path}/`) {
      await handleMcp(req as AuthedRequest, res)
      return
    }
    sendJson(res, 404, {error: 'not_found', message: `Nothing at ${url.pathname}. The MCP endpoint is ${options.path}; health checks are /healthz and /readyz.`})
  }

  const server = createServer((req, res) => {
    // GET on the MCP path is a long-lived SSE stream that never ends on its own; draining waits
    // for everything else.
    const drainable = req.method !== 'GET'
    if (drainable) {
      inFlight++
      res.once('close', () => inFlight--)
    }
    handle(req, res).catch((error: unknown) => {
      log.error('HTTP request failed', {path: req.url?.split('?')[0], error: error instanceof Error ? error.message : String(error)})
      if (!res.headersSent) jsonRpcError(res, 500, -32603, 'Internal error')
      else res.end()
    })
  })
  server.requestTimeout = 0 // SSE streams stay open; request bodies are bounded by readJsonBody.

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening)
      if (error.code === 'EADDRINUSE') reject(new ListenError(`port ${options.port} on ${options.host} is already in use; choose another with --port, or stop the process using it.`))
      else if (error.code === 'EACCES') reject(new ListenError(`not allowed to listen on ${options.host}:${options.port} (ports below 1024 need privileges); choose another with --port.`))
      else if (error.code === 'EADDRNOTAVAIL') reject(new ListenError(`the address ${options.host} is not on this machine; use --host 127.0.0.1 or 0.0.0.0.`))
      else reject(error)
    }
    const onListening = () => {
      server.off('error', onError)
      resolve()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(options.port, options.host)
  })
  server.on('error', (error) => log.error('HTTP server error', {error: error.message}))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}${options.path}`

  async function shutdown(): Promise<void> {
    if (draining) return
    draining = true
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeIdleConnections()
    const deadline = Date.now() + (options.drainTimeoutMs ?? 10_000)
    while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    await Promise.allSettled([...sessions.values()].map((s) => s.server.close()))
    sessions.clear()
    server.closeAllConnections()
    await closed
    await options.auth?.close()
  }

  return {server, url, shutdown}
}

export {ListenError}
