// Support for the replica tests: a round-robin HTTP proxy in front of the replicas (swappable
// for test/support/haproxy.ts: both expose a URL and which replica answered each request), a
// redis-server with an append-only file (so a restart keeps what it held), and N replicas.
import {spawn, type ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, request, type IncomingMessage, type Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from '../support/redis.ts'
import {startHttpServer, type HttpServerProcess} from '../support/mcp.ts'

/** What a load balancer in front of the replicas must offer the tests. */
export interface LoadBalancer {
  /** The MCP endpoint through the balancer. */
  url: string
  /** For each request forwarded, in order: its HTTP method, what it carried (a JSON-RPC method, "response" or "" for none) and the replica that answered (x-kmcp-replica). */
  served: Array<{method: string; rpc: string; replica: string}>
  stop(): Promise<void>
}

/**
 * A tiny round-robin proxy: each request (not each connection) goes to the next replica; a replica
 * that refuses the connection is skipped, as a load balancer's health checks would.
 */
export async function startRoundRobin(targets: string[], path = '/mcp'): Promise<LoadBalancer> {
  let next = 0
  const served: LoadBalancer['served'] = []
  const forward = (req: IncomingMessage, body: Buffer, res: import('node:http').ServerResponse, attempt: number): void => {
    const target = new URL(targets[next++ % targets.length])
    const upstream = request({host: target.hostname, port: target.port, method: req.method, path: req.url, headers: {...req.headers, host: target.host}}, (answer) => {
      served.push({method: req.method ?? '', rpc: rpcOf(body), replica: String(answer.headers['x-kmcp-replica'] ?? '')})
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      res.flushHeaders()
      answer.pipe(res)
      answer.on('error', () => res.destroy())
      res.on('close', () => answer.destroy())
    })
    upstream.on('error', () => {
      if (res.headersSent) res.destroy()
      else if (attempt < targets.length) forward(req, body, res, attempt + 1)
      else res.writeHead(502).end()
    })
    res.on('close', () => upstream.destroy())
    upstream.end(body)
  }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => forward(req, Buffer.concat(chunks), res, 1))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as {port: number}).port
  return {
    url: `http://127.0.0.1:${port}${path}`,
    served,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function rpcOf(body: Buffer): string {
  try {
    const message = JSON.parse(body.toString('utf8')) as {method?: string; result?: unknown; error?: unknown}
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
