// Support for the replica tests: the real HAProxy (test/support/haproxy.ts) round robin in front
// of the replicas, a client-side record of which replica served each request, a redis-server with
// an append-only file (so a restart keeps what it held), and N replicas.
import {spawn, type ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from '../support/redis.ts'
import {BACKEND_HEADER, startHaproxy, type ServedRequest, type TestHaproxy} from '../support/haproxy.ts'
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
  stop(): Promise<void>
}

/** HAProxy round robin (no stickiness) in front of `replicas`; the n-th replica is backend replica-<n>. */
export async function startLoadBalancer(replicas: HttpServerProcess[], path = '/mcp'): Promise<LoadBalancer> {
  const haproxy = await startHaproxy(replicas.map((r, i) => ({name: backendName(i), port: Number(new URL(r.url).port)})))
  const served: ServedThrough[] = []
  const recordingFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const response = await fetch(input, init)
    served.push({
      method: init?.method ?? 'GET',
      rpc: rpcOf(init?.body),
      backend: response.headers.get(BACKEND_HEADER) ?? '',
      replica: response.headers.get('x-kmcp-replica') ?? '',
      status: response.status,
    })
    return response
  }) as typeof fetch
  return {url: `${haproxy.baseUrl}${path}`, haproxy, served, fetch: recordingFetch, stop: () => haproxy.stop()}
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

export interface PersistentRedis {
  url: string
  /** SIGTERM (redis-server writes its append-only file) and wait for the exit. */
  stop(): Promise<void>
  /** Start again on the same port and directory: what was stored is back. */
  start(): Promise<void>
  close(): Promise<void>
}

/** redis-server with appendonly yes in a temporary directory, on a free loopback port. */
export async function startPersistentRedis(): Promise<PersistentRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-replicas-redis-'))
  let child: ChildProcess | undefined
  const start = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--loglevel', 'warning'], {stdio: ['ignore', 'pipe', 'pipe']})
    child = proc
    let output = ''
    proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const deadline = Date.now() + 10_000
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}:\n${output}`)
      if (await ping(port)) return
      if (Date.now() > deadline) throw new Error(`redis-server did not answer within 10 s:\n${output}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  }
  await start()
  return {url: `redis://127.0.0.1:${port}`, stop, start, close: async () => {
    await stop()
    rmSync(dir, {recursive: true, force: true})
  }}
}

async function ping(port: number): Promise<boolean> {
  const {connect} = await import('node:net')
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('error', () => resolve(false))
    socket.write('PING\r\n')
    socket.once('data', (data) => {
      socket.end()
      resolve(data.toString().startsWith('+PONG'))
    })
  })
}

/** Starts `count` kmcp serve --transport http processes sharing one Redis (auth off, loopback). */
export async function startReplicas(count: number, options: {kubeconfig: string; redisUrl: string; extraArgs?: string[]}): Promise<HttpServerProcess[]> {
  return Promise.all(Array.from({length: count}, () => startHttpServer({kubeconfig: options.kubeconfig, extraArgs: options.extraArgs, env: {REDIS_URL: options.redisUrl, KMCP_LOG_LEVEL: 'info'}})))
}

/** The replica id a server logged at start-up ("sessions in redis, replica <id>"). */
export function replicaIdOf(server: HttpServerProcess): string {
  return /replica (\S+?)\)/.exec(server.stderr())?.[1] ?? ''
}
