// A real load balancer for tests and benchmarks: HAProxy (Debian package haproxy, installed by
// scripts/test.mjs like redis-server; nothing is installed here) on a free loopback port, round
// robin over the given backends, without any stickiness. Each answer names the backend that served
// it in the X-Kmcp-Backend header, and HAProxy logs one line per request to its stdout, which is
// kept: tests assert from either which replica served what.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from './redis.ts'

export interface Backend {
  /** Name HAProxy reports for this backend (X-Kmcp-Backend, log lines). */
  name: string
  port: number
  host?: string
}

export interface ServedRequest {
  backend: string
  method: string
  path: string
  status: number
}

export interface TestHaproxy {
  /** http://127.0.0.1:<port> */
  baseUrl: string
  port: number
  pid: number
  /** One entry per request HAProxy finished, in order (parsed from its log). */
  served(): ServedRequest[]
  /** HAProxy's raw output (log lines, warnings). */
  output(): string
  stop(): Promise<void>
}

/** Header each answer carries naming the backend that served it. */
export const BACKEND_HEADER = 'x-kmcp-backend'
/**
 * A request carrying this header (a backend's name) goes to that backend instead of the next one in
 * the rotation: tests that must see an effect cross replicas say which replica serves which request
 * rather than count on round robin, whose turn any other request (a stream reconnecting, a health
 * check taking a loaded replica out for a second) can shift.
 */
export const ROUTE_HEADER = 'x-kmcp-test-route'

/** The haproxy executable, or undefined when the Debian package is not installed. */
export function findHaproxy(): string | undefined {
  for (const candidate of ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy']) if (existsSync(candidate)) return candidate
  const which = spawnSync('sh', ['-c', 'command -v haproxy'], {encoding: 'utf8'})
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined
}

/** Why HAProxy tests cannot run here, or undefined when they can (for t.skip). */
export function haproxyMissing(): string | undefined {
  return findHaproxy() ? undefined : 'haproxy is not installed (Debian package haproxy; npm test installs it when run as root)'
}

const LOG_PREFIX = 'kmcp-served'

function config(port: number, backends: Backend[]): string {
  return [
    'global',
    '  log stdout format raw local0 info',
    // Two file descriptors per connection: stays under the usual 10k-20k descriptor limit.
    '  maxconn 4000',
    '',
    'defaults',
    '  mode http',
    '  log global',
    `  log-format "${LOG_PREFIX} backend=%s method=%HM path=%HPO status=%ST"`,
    // Connections that carry no request (port probes) are not requests served.
    '  option dontlognull',
    '  option http-server-close',
    // A backend that refuses the connection (a killed replica) costs nothing: the request goes to
    // the next one at once (every retry redispatches), and the health check takes it out of the
    // rotation within a second. Only the connection is retried, never a request a backend received.
    '  retries 2',
    '  option redispatch 1',
    '  option httpchk GET /healthz',
    '  default-server check inter 1s fall 1 rise 1',
    '  timeout connect 5s',
    // MCP answers may be SSE streams that stay open for a long time (GET streams, long waits).
    // HAProxy forwards response data as it arrives (no response buffering, no compression here),
    // so events reach the client at once; these timeouts only bound idle time.
    '  timeout client 1h',
    '  timeout server 1h',
    '  timeout tunnel 1h',
    '  timeout http-keep-alive 60s',
    '',
    'frontend kmcp_front',
    `  bind 127.0.0.1:${port}`,
    '  default_backend kmcp_replicas',
    '',
    'backend kmcp_replicas',
    '  balance roundrobin',
    '  http-response set-header X-Kmcp-Backend %s',
    ...backends.map((b) => `  use-server ${b.name} if { req.hdr(${ROUTE_HEADER}) -m str ${b.name} }`),
    ...backends.map((b) => `  server ${b.name} ${b.host ?? '127.0.0.1'}:${b.port}`),
    '',
  ].join('\n')
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${output()}`)
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`haproxy did not listen on ${port} within 10 s:\n${output()}`)
}

/** Starts HAProxy in front of `backends`; call stop() in `after`. Throws when haproxy is missing. */
export async function startHaproxy(backends: Backend[]): Promise<TestHaproxy> {
  const binary = findHaproxy()
  if (!binary) throw new Error(haproxyMissing())
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-haproxy-'))
  const file = join(dir, 'haproxy.cfg')
  writeFileSync(file, config(port, backends))
  const check = spawnSync(binary, ['-c', '-q', '-f', file], {encoding: 'utf8'})
  if (check.status !== 0) throw new Error(`haproxy refused its configuration:\n${check.stderr}${check.stdout}`)
  // -db: foreground, logs to stdout; -W would add a master process we would have to stop too.
  const child = spawn(binary, ['-db', '-f', file], {stdio: ['ignore', 'pipe', 'pipe']})
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  try {
    await waitForPort(port, child, () => output)
  } catch (error) {
    child.kill('SIGKILL')
    rmSync(dir, {recursive: true, force: true})
    throw error
  }
  const pid = child.pid!
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    pid,
    output: () => output,
    served: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith(LOG_PREFIX))
        .map((line) => {
          const fields = Object.fromEntries(line.split(' ').slice(1).map((kv) => kv.split('=', 2) as [string, string]))
          return {backend: fields.backend ?? '', method: fields.method ?? '', path: fields.path ?? '', status: Number(fields.status)}
        }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit')
        process.kill(pid, 'SIGTERM')
        await exited
      }
      rmSync(dir, {recursive: true, force: true})
    },
  }
}
