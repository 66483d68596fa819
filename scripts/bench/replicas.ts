// Replicas behind a real load balancer: N `kmcp serve --transport http` processes sharing one
// redis-server, behind HAProxy (round robin, no stickiness; test/support/haproxy.ts), against the
// same load through HAProxy to one replica alone.
//   node --no-warnings scripts/bench/replicas.ts [--replicas 2] [--sessions 200] [--duration 60] [--rounds 2]
//        [--mode stateless|sessions] [--sources] [--no-write] [--smoke]
// Each of --sessions concurrent MCP sessions (the SDK's client) does initialize + tools/list, then
// calls a cheap read tool (list_postgres_clusters on an empty namespace) back to back for
// --duration seconds. Rounds alternate between "1 replica" and "N replicas" (and which goes first),
// so both see the same machine. Reported per setup: p50/p99 over all tool calls, calls per second,
// failed requests (any request that threw or a tool result with isError), replica CPU per call.
// --mode stateless (default) runs the replicas with --stateless; --mode sessions runs them with MCP
// sessions and REDIS_URL, which works across replicas only once sessions live in Redis (issue 16):
// before that, round robin answers a session's second request with 404 on the other replica.
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {Agent, fetch as undiciFetch} from 'undici'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {ListToolsResultSchema} from '@modelcontextprotocol/sdk/types.js'
import type {JsonSchemaValidator, jsonSchemaValidator} from '@modelcontextprotocol/sdk/validation'
import {startHttpServer, REPO_ROOT, type HttpServerProcess} from '../../test/support/mcp.ts'
import {startRedis} from '../../test/support/redis.ts'
import {haproxyMissing, startHaproxy, type TestHaproxy} from '../../test/support/haproxy.ts'
import {cpuMs, flag, machineLoad, option, percentile, recordRun, smoke} from './report.ts'
import {startBenchCluster} from './bench-harness.ts'

const replicaCount = smoke ? 2 : Number(option('--replicas', '2'))
const sessionCount = smoke ? 4 : Number(option('--sessions', '200'))
const durationMs = (smoke ? 2 : Number(option('--duration', '60'))) * 1000
const rounds = smoke ? 1 : Number(option('--rounds', '2'))
const mode = option('--mode', 'stateless')
if (mode !== 'stateless' && mode !== 'sessions') throw new Error('--mode is stateless or sessions')
const loadAtStart = machineLoad()

interface RunResult {
  callMs: number[]
  failed: number
  requests: number
  firstErrors: string[]
  cpuMs: number
  seconds: number
}

if (haproxyMissing()) {
  process.stderr.write(`bench: skipped: ${haproxyMissing()}\n`)
  process.exit(smoke ? 0 : 1)
}

const namespace = 'bench-replicas'
const cluster = await startBenchCluster(namespace)
const stops: Array<() => Promise<unknown>> = [() => cluster.stop()]
try {
  const state = cluster.state

  const redis = await startRedis()
  stops.unshift(() => redis.stop())
  const modeArgs = mode === 'stateless' ? ['--stateless'] : []
  // Sessions per user are capped (50 by default); every benchmark session is the same local user.
  const args = [...modeArgs, '--max-sessions-per-user', '100000', '--max-sessions', '100000']
  const env = {KMCP_LOG_LEVEL: 'info', REDIS_URL: redis.url}
  const replicas: HttpServerProcess[] = []
  for (let i = 0; i < replicaCount; i++) {
    const command = flag('--sources') ? undefined : {command: join(REPO_ROOT, 'dist/kmcp'), args: ['serve', '--transport', 'http', '--host', '127.0.0.1', '--port', '0', '--kubeconfig', state.kubeconfigPath, ...args]}
    const replica = await startHttpServer({kubeconfig: state.kubeconfigPath, extraArgs: args, env, command})
    replicas.push(replica)
    stops.unshift(() => replica.stop())
  }
  const backends = replicas.map((r, i) => ({name: `replica-${i + 1}`, port: Number(new URL(r.url).port)}))
  const single = await startHaproxy(backends.slice(0, 1))
  stops.unshift(() => single.stop())
  const spread = await startHaproxy(backends)
  stops.unshift(() => spread.stop())

  // Idle sockets close after 1 s, before HAProxy's keep-alive timeout, so no POST meets a socket
  // the other side is closing at that moment.
  const agent = new Agent({connections: 1024, keepAliveTimeout: 1000, keepAliveMaxTimeout: 1000})
  const clientFetch = ((input: string | URL, init?: RequestInit) => undiciFetch(input, {...(init as object), dispatcher: agent})) as unknown as typeof fetch

  // The servers' answers are what is measured, not the client's checks of them (see tools/list below).
  const noValidation: jsonSchemaValidator = {
    getValidator<T>(): JsonSchemaValidator<T> {
      return (input) => ({valid: true, data: input as T, errorMessage: undefined})
    },
  }

  async function run(proxy: TestHaproxy, pids: number[], ms: number): Promise<RunResult> {
    const result: RunResult = {callMs: [], failed: 0, requests: 0, firstErrors: [], cpuMs: 0, seconds: ms / 1000}
    const fail = (error: unknown) => {
      result.failed++
      if (result.firstErrors.length < 3) result.firstErrors.push(String(error).slice(0, 200))
    }
    const cpuBefore = pids.reduce((sum, pid) => sum + cpuMs(pid), 0)
    const end = Date.now() + ms
    await Promise.all(
      Array.from({length: sessionCount}, async () => {
        const client = new Client({name: 'bench-replicas', version: '1'}, {jsonSchemaValidator: noValidation})
        try {
          result.requests += 3 // initialize, notifications/initialized, tools/list
          await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.baseUrl}/mcp`), {fetch: clientFetch}))
          // tools/list as a plain request: Client.listTools() also compiles a JSON Schema validator
          // for every tool's output, per client, which on 200 clients is seconds of this process's
          // CPU, and the benchmark would measure itself.
          const listed = await client.request({method: 'tools/list'}, ListToolsResultSchema)
          if (listed.tools.length === 0) fail('tools/list answered no tool')
        } catch (error) {
          fail(error)
          return
        }
        while (Date.now() < end) {
          result.requests++
          const started = performance.now()
          try {
            const reply = (await client.callTool({name: 'list_postgres_clusters', arguments: {namespace}})) as {isError?: boolean; content: Array<{text?: string}>}
            if (reply.isError) fail(`tool error: ${reply.content[0]?.text}`)
            else result.callMs.push(performance.now() - started)
          } catch (error) {
            fail(error)
          }
        }
        await client.close().catch(() => undefined)
      }),
    )
    result.cpuMs = pids.reduce((sum, pid) => sum + cpuMs(pid), 0) - cpuBefore
    return result
  }

  const setups = {
    one: {label: '1 replica', proxy: single, pids: [replicas[0].process.pid!]},
    many: {label: `${replicaCount} replicas`, proxy: spread, pids: replicas.map((r) => r.process.pid!)},
  }
  const totals = {one: [] as RunResult[], many: [] as RunResult[]}
  if (!smoke) {
    process.stderr.write('bench: warm-up\n')
    for (const setup of Object.values(setups)) await run(setup.proxy, setup.pids, 3000)
  }
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? (['many', 'one'] as const) : (['one', 'many'] as const)
    for (const key of order) {
      process.stderr.write(`bench: round ${i + 1}/${rounds}: ${setups[key].label}, ${sessionCount} sessions for ${durationMs / 1000} s\n`)
      totals[key].push(await run(setups[key].proxy, setups[key].pids, durationMs))
    }
  }

  const summary = (runs: RunResult[]) => {
    const calls = runs.flatMap((r) => r.callMs)
    const failed = runs.reduce((s, r) => s + r.failed, 0)
    const requests = runs.reduce((s, r) => s + r.requests, 0)
    const seconds = runs.reduce((s, r) => s + r.seconds, 0)
    const cpu = runs.reduce((s, r) => s + r.cpuMs, 0)
    return {p50: percentile(calls, 50), p99: percentile(calls, 99), calls: calls.length, perSecond: calls.length / seconds, failed, requests, cpuPerCall: cpu / Math.max(1, calls.length), errors: runs.flatMap((r) => r.firstErrors).slice(0, 3)}
  }
  const one = summary(totals.one)
  const many = summary(totals.many)
  const line = (label: string, s: typeof one) =>
    `  ${label.padEnd(11)} p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, ${s.calls} calls (${s.perSecond.toFixed(0)}/s), failed requests ${s.failed} of ${s.requests}, replica CPU per call ${s.cpuPerCall.toFixed(2)} ms`
  const lines = [
    `${sessionCount} concurrent MCP sessions (SDK client) through HAProxy round robin, ${durationMs / 1000} s per run, ${rounds} interleaved round(s) per setup; mode ${mode}${mode === 'stateless' ? ' (kmcp serve --stateless)' : ' (MCP sessions, REDIS_URL shared)'}; servers: ${flag('--sources') ? 'sources under node' : 'dist/kmcp'}`,
    'each session: initialize + tools/list, then list_postgres_clusters (empty namespace) back to back',
    line(setups.one.label, one),
    line(setups.many.label, many),
    `  ${replicaCount} replicas vs 1: p50 ${(many.p50 - one.p50).toFixed(1)} ms, p99 ${(many.p99 - one.p99).toFixed(1)} ms, throughput x${(many.perSecond / Math.max(1e-9, one.perSecond)).toFixed(2)}`,
    ...[...one.errors, ...many.errors].map((e) => `  first errors: ${e}`),
  ]
  console.log(lines.join('\n'))
  recordRun('Replicas behind a load balancer (scripts/bench/replicas.ts)', loadAtStart, lines.join('\n'))
  if (smoke && (one.failed > 0 || many.failed > 0 || one.calls === 0 || many.calls === 0)) throw new Error('smoke run had failed requests or no completed call')
} catch (error) {
  process.stderr.write(`bench failed: ${String(error)}\n`)
  process.exitCode = 1
} finally {
  for (const stop of stops) await stop().catch(() => undefined)
}
