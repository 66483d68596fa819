import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AuthInfo} from '@modelcontextprotocol/sdk/server/auth/types.js'
import type {CallerIdentity} from '../tools/registry.ts'
import type {LazyKubeClient} from '../k8s/client.ts'
import {hasUnexpectedBody} from './body.ts'
import {ListenError} from './errors.ts'
import {HostGuard} from './host-guard.ts'
import {sendJson, sendJsonRpcError} from './json-reply.ts'
import {log, throttledWarning} from './logger.ts'
import {McpEndpoint} from './mcp-endpoint.ts'
import {StatelessMcpEndpoint} from './stateless-endpoint.ts'
import {type ReadinessCheck, runReadinessChecks} from './readiness.ts'
import {DEFAULT_SESSION_LIMITS, type SessionLimits} from './sessions.ts'
import {applyConnectionLimits, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits} from './connection-limits.ts'
import type {ServerPolicy} from '../tools/policy/modes.ts'
import type {RedisSettings} from '../storage/redis.ts'
import type {SharedSessions} from './live-session.ts'

/** Connects the Redis session store and bus (loaded on demand: without Redis, ioredis is never loaded). */
async function sharedSessions(settings: RedisSettings, limits: SessionLimits): Promise<SharedSessions> {
  const [{RedisSessionStore}, {SessionBus}] = await Promise.all([import('./session-store-redis.ts'), import('./session-bus.ts')])
  const store = new RedisSessionStore(settings, limits)
  return {store, bus: new SessionBus(settings, store.redis, limits.idleTimeoutMs)}
}

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
  /** public_url: its host is one the server answers to. */
  publicUrl?: string
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
  /** --allowed-hosts / --allowed-origins (DNS-rebinding protection; see host-guard.ts). */
  allowedHosts?: string[]
  allowedOrigins?: string[]
  sessionLimits?: Partial<SessionLimits>
  connectionLimits?: Partial<ConnectionLimits>
  /** Redis for MCP sessions shared by every replica; absent: sessions live in this process only. */
  redis?: RedisSettings
  /** --stateless: no sessions, a fresh MCP server per POST (stateless-endpoint.ts). */
  stateless?: boolean
}

export interface RunningHttpServer {
  server: Server
  url: string
  /** Stops accepting connections, drains in-flight requests, closes sessions. */
  shutdown(): Promise<void>
  /** This process's name among replicas (the x-kmcp-replica response header). */
  replicaId?: string
  /** Whether MCP sessions live in Redis (any replica serves them). */
  sharedSessions: boolean
}

function isLoopbackPeer(req: IncomingMessage): boolean {
  const address = req.socket.remoteAddress ?? ''
  return address === '::1' || /^(::ffff:)?127\./.test(address)
}

/**
 * MCP Streamable HTTP at `options.path`, plus /healthz and /readyz. Each session held here is one
 * McpServer, within the caps of `sessionLimits`; with `redis` the sessions live in Redis and any
 * replica serves (and if needed rebuilds) any of them.
 */
export async function serveHttp(options: HttpServeOptions): Promise<RunningHttpServer> {
  const hostGuard = new HostGuard({listenHost: options.host, publicUrl: options.auth?.publicUrl, allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins})
  const limits = {...DEFAULT_SESSION_LIMITS, ...options.sessionLimits}
  const shared = options.redis && !options.stateless ? await sharedSessions(options.redis, limits) : undefined
  const mcp = options.stateless
    ? new StatelessMcpEndpoint({kube: options.kube, auth: options.auth, anonymousIdentity: options.anonymousIdentity, policy: options.policy, scopeGroups: options.scopeGroups})
    : new McpEndpoint({kube: options.kube, auth: options.auth, anonymousIdentity: options.anonymousIdentity, limits, policy: options.policy, scopeGroups: options.scopeGroups, shared})
  let inFlight = 0
  let draining = false
  // A flood must not flood the log: one line per 10 s.
  const warnRefused = throttledWarning()
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
    ...mcp.readinessChecks,
  ]

  async function readiness(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (draining) {
      sendJson(res, 503, {status: 'draining'})
      return
    }
    const report = await runReadinessChecks(readinessChecks)
    // Error texts name internal hosts and causes: only for someone on this machine (kubectl
    // port-forward, the test sidecar). Others, the kubelet included, get the status word.
    if (isLoopbackPeer(req)) sendJson(res, report.ready ? 200 : 503, {status: report.ready ? 'ready' : 'not ready', ...report})
    else sendJson(res, report.ready ? 200 : 503, {status: report.ready ? 'ready' : 'not ready'})
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    // Probes come from the kubelet with the pod IP as Host; public metadata is meant to be read
    // cross-origin. Everything else answers only to this server's names and origins.
    const probe = url.pathname === '/healthz' || url.pathname === '/readyz'
    if (!probe) {
      const refusal = hostGuard.check(req, !url.pathname.includes('/.well-known/'))
      if (refusal) {
        warnRefused('request refused: Host or Origin not allowed (DNS rebinding protection)', {host: String(req.headers.host ?? '').slice(0, 100), origin: req.headers.origin?.slice(0, 100), path: url.pathname.slice(0, 100)})
        sendJsonRpcError(res, 403, -32000, refusal)
        return
      }
    }
    if (hasUnexpectedBody(req)) {
      sendJsonRpcError(res, 400, -32600, `Bad Request: ${req.method} takes no request body.`, {connection: 'close'})
      return
    }
    if (url.pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJson(res, 200, {status: 'ok'})
      return
    }
    if (url.pathname === '/readyz' && (req.method === 'GET' || req.method === 'HEAD')) {
      await readiness(req, res)
      return
    }
    if (options.auth && (await options.auth.handleRoute(req, res, url))) return
    if (url.pathname === options.path || url.pathname === `${options.path}/`) {
      await mcp.handle(req, res)
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
      if (!res.headersSent) sendJsonRpcError(res, 500, -32603, 'Internal error')
      else res.end()
    })
  })
  applyConnectionLimits(server, {...DEFAULT_CONNECTION_LIMITS, ...options.connectionLimits})

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
    while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    if (inFlight > 0) {
      const stillRunning = inFlight
      const answered = await mcp.answerUnfinished()
      // Give those answers a moment to leave before the connections are closed.
      const flushBy = Date.now() + 100
      while (inFlight > 0 && Date.now() < flushBy) await new Promise((r) => setTimeout(r, 10))
      log.warn(`${stillRunning} request(s) still running after the drain time were stopped (${answered} MCP request(s) answered with an error)`)
    }
    await mcp.close()
    server.closeAllConnections()
    await closed
    await options.auth?.close()
  }

  return {server, url, shutdown, replicaId: mcp.replicaId, sharedSessions: Boolean(shared)}
}

export {ListenError}
