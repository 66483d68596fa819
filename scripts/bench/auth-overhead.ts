// What OAuth adds to an MCP tool call (issue 6): 50 concurrent MCP clients call a cheap read tool
// (list_postgres_clusters on an empty namespace), and an MCP ping, over Streamable HTTP on loopback, against two
// kmcp serve processes started the same way, one with authentication (real redis-server, tokens
// from a real oidc-provider sign-in, one sign-in per client) and one without.
//   node --no-warnings scripts/bench/auth-overhead.ts [--clients 50] [--rounds 20] [--write]
// Rounds alternate between the two servers; each round is one call per client, all at once.
// Reported: p50/p99 over all calls per mode, and the median over rounds of (p99 auth - p99 open).
// Target: the auth + MCP layers add <= 3 ms at p99. --write appends the result to docs/benchmarks.md.
import {appendFileSync, existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {Agent, fetch as undiciFetch} from 'undici'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {installClusterRoles, installCrds, startHarness, stateFromKubeconfig} from '../../test/support/global-setup.ts'
import {STATE_ENV, expectStatus, rawRequest, waitFor, type Connection} from '../../test/support/kube.ts'
import {startHttpServer, REPO_ROOT} from '../../test/support/mcp.ts'
import {startIdentityProvider} from '../../test/support/oidc.ts'
import {freePort, startRedis} from '../../test/support/redis.ts'
import {obtainTokens, writeAuthConfig} from '../../test/auth/helpers.ts'

const args = process.argv.slice(2)
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback)
const clientCount = Number(option('--clients', '50'))
const rounds = Number(option('--rounds', '30'))
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}
const median = (values: number[]) => percentile(values, 50)

const harness = await startHarness()
const stops: Array<() => Promise<unknown>> = [() => harness.stop()]
try {
  const state = {version: 1 as const, dataDir: harness.dataDir, ...stateFromKubeconfig(harness.kubeconfigPath, harness.dataDir)}
  writeFileSync(join(harness.dataDir, 'state.json'), JSON.stringify(state))
  process.env[STATE_ENV] = join(harness.dataDir, 'state.json')
  const conn: Connection = {server: state.server, ca: readFileSync(state.caFile), token: state.tokens.admin}
  await installCrds(conn)
  await installClusterRoles(conn)
  const namespace = 'bench-auth'
  expectStatus('namespace', await rawRequest(conn, 'POST', '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace}}), 201, 409)
  // Just after start-up the API server answers 429 while the CRD storage initialises.
  await waitFor(async () => (await rawRequest(conn, 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${namespace}/clusters`)).status === 200)

  const redis = await startRedis()
  stops.unshift(() => redis.stop())
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const idp = await startIdentityProvider({kmcpCallbacks: [`${publicUrl}/auth/callback`]})
  stops.unshift(() => idp.close())
  const files = writeAuthConfig({idp, publicUrl, redisUrl: redis.url})
  // Info level: startHttpServer waits for the "listening on" line; per-call logs are debug only.
  const env = {KMCP_LOG_LEVEL: 'info'}
  const withAuth = await startHttpServer({kubeconfig: state.kubeconfigPath, port, extraArgs: ['--oidc-config', files.configPath], env})
  stops.unshift(() => withAuth.stop())
  const open = await startHttpServer({kubeconfig: state.kubeconfigPath, env})
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
  const lines = [`clients: ${clientCount}, rounds: ${rounds} per call and mode, node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}`]
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
    for (let i = 0; i < 3; i++) {
      await round(authClients)
      await round(openClients)
    }
    const authTimes: number[] = []
    const openTimes: number[] = []
    const p99Deltas: number[] = []
    for (let i = 0; i < rounds; i++) {
      // Which mode goes first alternates, so neither always runs right after the other's burst.
      const a = i % 2 ? await round(authClients) : undefined
      const o = await round(openClients)
      const aTimes = a ?? (await round(authClients))
      authTimes.push(...aTimes)
      openTimes.push(...o)
      p99Deltas.push(percentile(aTimes, 99) - percentile(o, 99))
    }
    lines.push(
      `${name}:`,
      `  auth off: p50 ${median(openTimes).toFixed(2)} ms, p99 ${percentile(openTimes, 99).toFixed(2)} ms`,
      `  auth on:  p50 ${median(authTimes).toFixed(2)} ms, p99 ${percentile(authTimes, 99).toFixed(2)} ms`,
      `  added: p50 ${(median(authTimes) - median(openTimes)).toFixed(2)} ms; p99 over all calls ${(percentile(authTimes, 99) - percentile(openTimes, 99)).toFixed(2)} ms; median of per-round p99 differences ${median(p99Deltas).toFixed(2)} ms (target <= 3 ms)`,
    )
  }
  await Promise.all([...authClients, ...openClients].map((c) => c.close()))

  console.log(lines.join('\n'))
  if (args.includes('--write')) {
    const file = join(REPO_ROOT, 'docs/benchmarks.md')
    if (!existsSync(file)) writeFileSync(file, '# Benchmarks\n')
    appendFileSync(
      file,
      `\n## Authentication overhead (scripts/bench/auth-overhead.ts)\n\n${clientCount} concurrent MCP clients over Streamable HTTP on loopback send an MCP ping and call \`list_postgres_clusters\` (empty namespace, real kube-apiserver); one kmcp with OAuth (Redis, kmcp tokens from a real sign-in per client), one without, alternating rounds.\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n`,
    )
  }
} catch (error) {
  process.stderr.write(`bench failed: ${String(error)}\n`)
  process.exitCode = 1
} finally {
  for (const stop of stops) await stop().catch(() => undefined)
}
