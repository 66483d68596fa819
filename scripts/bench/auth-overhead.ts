// What OAuth adds to an MCP call: concurrent MCP clients send an MCP ping (never leaves kmcp: the
// HTTP + auth + MCP layers alone) and call a cheap read tool (list_postgres_clusters on an empty
// namespace), over Streamable HTTP on loopback, to two `kmcp serve --transport http` processes
// started the same way: one with authentication (real redis-server, tokens from a real
// oidc-provider sign-in, one sign-in per client), one without; both keep their MCP sessions in
// that Redis (--open-memory: the one without authentication keeps them in memory).
//   node --no-warnings scripts/bench/auth-overhead.ts [--clients 10] [--rounds 200] [--open-memory] [--sources] [--no-write] [--smoke]
// Each round is one call per client, all at once, to one server; rounds alternate between the two
// servers (and which goes first), so both see the same machine. Reported: p50 and p99 over ALL
// calls of each mode, and their differences. Target: auth adds <= 1 ms at p50 and <= 3 ms at p99.
// The servers are dist/kmcp (what ships); --sources runs the TypeScript sources under Node instead.
// The authenticated server gets its own rate_limits (all off): the benchmark signs in one client
// per simulated user from one address, which the default limits rightly refuse (429).
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {Agent, fetch as undiciFetch} from 'undici'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {startHttpServer, REPO_ROOT} from '../../test/support/mcp.ts'
import {startIdentityProvider} from '../../test/support/oidc.ts'
import {freePort, startRedis} from '../../test/support/redis.ts'
import {obtainTokens, writeAuthConfig} from '../../test/auth/helpers.ts'
import {cpuMs, flag, machineLoad, option, percentile, recordRun, smoke} from './report.ts'
import {startBenchCluster} from './bench-harness.ts'

const clientCount = smoke ? 2 : Number(option('--clients', '10'))
const rounds = smoke ? 2 : Number(option('--rounds', '200'))
const loadAtStart = machineLoad()
/** Without --sources: the single executable, with the same arguments startHttpServer gives the sources. */
const serverCommand = (port: number, kubeconfig: string, extraArgs: string[] = []) =>
  flag('--sources') ? undefined : {command: join(REPO_ROOT, 'dist/kmcp'), args: ['serve', '--transport', 'http', '--host', '127.0.0.1', '--port', String(port), '--kubeconfig', kubeconfig, ...extraArgs]}

const namespace = 'bench-auth'
const cluster = await startBenchCluster(namespace)
const stops: Array<() => Promise<unknown>> = [() => cluster.stop()]
try {
  const state = cluster.state

  const redis = await startRedis()
  stops.unshift(() => redis.stop())
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const idp = await startIdentityProvider({kmcpCallbacks: [`${publicUrl}/auth/callback`]})
  stops.unshift(() => idp.close())
  const rateLimitsOff = {rate_limits: {register_per_ip: 0, token_per_ip: 0, token_per_client: 0, authorize_per_ip: 0}}
  const files = writeAuthConfig({idp, publicUrl, redisUrl: redis.url, extra: rateLimitsOff})
  // Info level: startHttpServer waits for the "listening on" line; per-call logs are debug only.
  const env = {KMCP_LOG_LEVEL: 'info'}
  const authArgs = ['--oidc-config', files.configPath]
  const withAuth = await startHttpServer({kubeconfig: state.kubeconfigPath, port, extraArgs: authArgs, env, command: serverCommand(port, state.kubeconfigPath, authArgs)})
  stops.unshift(() => withAuth.stop())
  // Authentication needs Redis, and with Redis the MCP sessions live there too (shared by replicas): the
  // server without authentication uses the same Redis, so that the difference is authentication alone.
  // --open-memory keeps its sessions in memory instead (then the difference includes the shared sessions).
  const openEnv = flag('--open-memory') ? env : {...env, REDIS_URL: redis.url}
  const open = await startHttpServer({kubeconfig: state.kubeconfigPath, env: openEnv, command: serverCommand(0, state.kubeconfigPath)})
  stops.unshift(() => open.stop())

  // The MCP clients get their own connection pool, apart from the sign-in traffic. Idle sockets
  // are closed after 1 s, well before the server's 5 s keep-alive: with 100 clients a POST on a
  // socket the server is closing at that moment fails ("other side closed"), and POSTs are not retried.
  const agent = new Agent({connections: 256, keepAliveTimeout: 1000, keepAliveMaxTimeout: 1000})
  const clientFetch = ((input: string | URL, init?: RequestInit) => undiciFetch(input, {...(init as object), dispatcher: agent})) as unknown as typeof fetch
  const connect = async (url: string, token?: string) => {
    const client = new Client({name: 'bench', version: '1'})
    await client.connect(new StreamableHTTPClientTransport(new URL(url), {fetch: clientFetch, requestInit: {headers: token ? {authorization: `Bearer ${token}`} : {}}}))
    return client
  }
  const authClients: Client[] = []
  const openClients: Client[] = []
  const accessTokens: string[] = []
  for (let i = 0; i < clientCount; i++) {
    idp.signInAs(i % 2 ? 'alice' : 'bob')
    accessTokens.push((await obtainTokens(publicUrl)).access_token)
  }
  for (const token of accessTokens) {
    authClients.push(await connect(withAuth.url, token))
    openClients.push(await connect(open.url))
  }
  // Two calls: an MCP ping never leaves kmcp, so it isolates the HTTP + auth + MCP layers; the
  // tool call adds a Kubernetes list (shared by both modes, and noisy under 50-way concurrency).
  // (tools/list is not used: it converts every tool's schema per call and is CPU-bound.)
  const calls: Record<string, (client: Client) => Promise<unknown>> = {
    ping: (client) => client.ping(),
    list_postgres_clusters: async (client) => {
      const result = (await client.callTool({name: 'list_postgres_clusters', arguments: {namespace}})) as {isError?: boolean; content: Array<{text?: string}>}
      if (result.isError) throw new Error(`tool failed: ${result.content[0]?.text}`)
    },
  }
  const lines = [`${clientCount} concurrent clients, ${rounds} rounds per call and mode (${rounds * clientCount} calls each), servers: ${flag('--sources') ? 'sources under node' : 'dist/kmcp'}`]
  for (const [name, call] of Object.entries(calls)) {
    const timed = async (client: Client) => {
      const started = performance.now()
      await call(client)
      return performance.now() - started
    }
    const round = (clients: Client[]) => Promise.all(clients.map(timed)).catch((error: unknown) => {
      throw new Error(`${clients === authClients ? 'auth' : 'open'}: ${String(error)} ${String((error as {cause?: unknown}).cause)}`)
    })
    process.stderr.write(`bench: ${name}\n`)
    for (let i = 0; i < (smoke ? 1 : 5); i++) {
      await round(authClients)
      await round(openClients)
    }
    const authTimes: number[] = []
    const openTimes: number[] = []
    // CPU time of each server over the measured rounds: what auth costs per call, whatever the load.
    const cpuBefore = {auth: cpuMs(withAuth.process.pid!), open: cpuMs(open.process.pid!)}
    for (let i = 0; i < rounds; i++) {
      // Which mode goes first alternates, so neither always runs right after the other's burst.
      if (i % 2) {
        authTimes.push(...(await round(authClients)))
        openTimes.push(...(await round(openClients)))
      } else {
        openTimes.push(...(await round(openClients)))
        authTimes.push(...(await round(authClients)))
      }
    }
    const cpuPerCall = {auth: (cpuMs(withAuth.process.pid!) - cpuBefore.auth) / authTimes.length, open: (cpuMs(open.process.pid!) - cpuBefore.open) / openTimes.length}
    const p = (values: number[], q: number) => percentile(values, q).toFixed(2)
    const added = (q: number) => (percentile(authTimes, q) - percentile(openTimes, q)).toFixed(2)
    lines.push(
      `${name}:`,
      `  auth off: p50 ${p(openTimes, 50)} ms, p99 ${p(openTimes, 99)} ms`,
      `  auth on:  p50 ${p(authTimes, 50)} ms, p99 ${p(authTimes, 99)} ms`,
      `  auth adds: p50 ${added(50)} ms (target <= 1 ms), p99 ${added(99)} ms (target <= 3 ms)`,
      `  server CPU per call: auth off ${cpuPerCall.open.toFixed(3)} ms, auth on ${cpuPerCall.auth.toFixed(3)} ms (auth adds ${(cpuPerCall.auth - cpuPerCall.open).toFixed(3)} ms)`,
    )
  }
  await Promise.all([...authClients, ...openClients].map((c) => c.close()))

  console.log(lines.join('\n'))
  recordRun('Authentication overhead (scripts/bench/auth-overhead.ts)', loadAtStart, lines.join('\n'))
} catch (error) {
  process.stderr.write(`bench failed: ${String(error)}\n`)
  process.exitCode = 1
} finally {
  for (const stop of stops) await stop().catch(() => undefined)
}
