// Support for the replica tests: the real HAProxy (test/support/haproxy.ts) round robin in front
// of the replicas, a client-side record of which replica served each request, and N replicas.
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {ElicitRequestSchema, ResourceUpdatedNotificationSchema} from '@modelcontextprotocol/sdk/types.js'
import {BACKEND_HEADER, ROUTE_HEADER, startHaproxy, type ServedRequest, type TestHaproxy} from '../support/haproxy.ts'
import {startHttpServer, type HttpServerProcess} from '../support/mcp.ts'

/** One request that went through the load balancer, as the client saw it. */
export interface ServedThrough {
  /** HTTP method. */
  method: string
  /** The JSON-RPC method the body carried, "response" for an answer to the server, "" for none. */
  rpc: string
  /** The backend HAProxy chose (its X-Kmcp-Backend header): replica-<n> for replicas[n-1]. */
  backend: string
  /** The kmcp replica id that answered (its x-kmcp-replica header). */
  replica: string
  status: number
}

export interface LoadBalancer {
  /** The MCP endpoint through HAProxy. */
  url: string
  haproxy: TestHaproxy
  /**
   * Every request made with `fetch` below, in the order the answers' headers arrived. HAProxy
   * cannot tell which JSON-RPC message a POST carried, so the client records it with the backend
   * HAProxy names in its answer; HAProxy's own log (haproxy.served()) confirms the backends.
   */
  served: ServedThrough[]
  /** A fetch for the SDK's StreamableHTTPClientTransport that records into `served`. */
  fetch: typeof fetch
  /** Sends the next POST carrying JSON-RPC `rpc` (a method, or "response") to `backend`, whatever round robin's turn. */
  routeNext(rpc: string, backend: string): void
  stop(): Promise<void>
}

/** HAProxy round robin (no stickiness) in front of `replicas`; the n-th replica is backend replica-<n>. */
export async function startLoadBalancer(replicas: HttpServerProcess[], path = '/mcp'): Promise<LoadBalancer> {
  const haproxy = await startHaproxy(replicas.map((r, i) => ({name: backendName(i), port: Number(new URL(r.url).port)})))
  const served: ServedThrough[] = []
  const routes: Array<{rpc: string; backend: string}> = []
  const recordingFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const rpc = rpcOf(init?.body)
    const route = routes.findIndex((r) => r.rpc === rpc)
    if (route >= 0) {
      const headers = new Headers(init?.headers)
      headers.set(ROUTE_HEADER, routes.splice(route, 1)[0].backend)
      init = {...init, headers}
    }
    const response = await fetch(input, init)
    served.push({
      method: init?.method ?? 'GET',
      rpc,
      backend: response.headers.get(BACKEND_HEADER) ?? '',
      replica: response.headers.get('x-kmcp-replica') ?? '',
      status: response.status,
    })
    return response
  }) as typeof fetch
  const routeNext = (rpc: string, backend: string) => void routes.push({rpc, backend})
  return {url: `${haproxy.baseUrl}${path}`, haproxy, served, fetch: recordingFetch, routeNext, stop: () => haproxy.stop()}
}

/** HAProxy's name for the replica at `index` of the list given to startLoadBalancer. */
export function backendName(index: number): string {
  return `replica-${index + 1}`
}

/** Waits until HAProxy logged at least `count` finished requests (it logs a request once it is done). */
export async function haproxyLogged(lb: LoadBalancer, count: number, timeoutMs = 5000): Promise<ServedRequest[]> {
  const deadline = Date.now() + timeoutMs
  while (lb.haproxy.served().length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  return lb.haproxy.served()
}

function rpcOf(body: unknown): string {
  if (typeof body !== 'string') return ''
  try {
    const message = JSON.parse(body) as {method?: string; result?: unknown; error?: unknown}
    return message.method ?? (message.result !== undefined || message.error !== undefined ? 'response' : '')
  } catch {
    return ''
  }
}

/** Starts `count` kmcp serve --transport http processes sharing one Redis (auth off, loopback). */
export async function startReplicas(count: number, options: {kubeconfig: string; redisUrl: string; extraArgs?: string[]}): Promise<HttpServerProcess[]> {
  return Promise.all(Array.from({length: count}, () => startHttpServer({kubeconfig: options.kubeconfig, extraArgs: options.extraArgs, env: {REDIS_URL: options.redisUrl, KMCP_LOG_LEVEL: 'info'}})))
}

/** The replica id a server logged at start-up ("sessions in redis, replica <id>"). */
export function replicaIdOf(server: HttpServerProcess): string {
  return /replica (\S+?)\)/.exec(server.stderr())?.[1] ?? ''
}

/** An SDK client connected through the load balancer: it accepts every confirmation and records what it was asked and told. */
export interface BalancedClient {
  client: Client
  transport: StreamableHTTPClientTransport
  /** The confirmation questions (elicitations) it accepted. */
  questions: string[]
  /** The URIs of the resource updates it was notified of. */
  updates: string[]
}

export async function connectThroughBalancer(lb: LoadBalancer, name: string): Promise<BalancedClient> {
  const questions: string[] = []
  const updates: string[] = []
  const client = new Client({name, version: '1.0.0'}, {capabilities: {elicitation: {}}})
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    questions.push(String(request.params.message ?? ''))
    return {action: 'accept', content: {confirm: true}}
  })
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (notification) => void updates.push(notification.params.uri))
  const transport = new StreamableHTTPClientTransport(new URL(lb.url), {fetch: lb.fetch})
  await client.connect(transport)
  return {client, transport, questions, updates}
}
