// Prompt exit: SIGTERM and SIGINT end `kmcp serve` within 1 s on both transports, from the
// TypeScript sources and from the single executable, even while an MCP client keeps stdin open;
// calls in flight are either answered (drained) or answered with an error (reported).
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {createNamespace, harness} from '../support/kube.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {callTool, connectHttp, kmcpCommand, REPO_ROOT, startHttpServer, textOf} from '../support/mcp.ts'
import {kubeconfigThrough, startTcpProxy, type TcpProxy} from '../support/tcp-proxy.ts'

/** The server must be gone this long after the signal (serve.ts drains 500 ms, exits by 800 ms). */
const EXIT_WITHIN_MS = 1000
const binary = join(REPO_ROOT, 'dist', 'kmcp')
const runners: Array<{name: string; command: (...args: string[]) => {command: string; args: string[]}}> = [
  {name: 'sources', command: kmcpCommand},
  {name: 'single executable', command: (...args) => ({command: binary, args})},
]

/** A stdio server spoken to with raw JSON-RPC lines, so the test decides when (never) stdin closes. */
function startStdio(command: {command: string; args: string[]}) {
  const child = spawn(command.command, command.args, {cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp'}})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  const reply = async (id: number) => {
    const deadline = Date.now() + 30_000
    for (;;) {
      const line = stdout.split('\n').find((l) => l.includes(`"id":${id}`))
      if (line) return JSON.parse(line) as {result?: {isError?: boolean; content: Array<{text: string}>}; error?: {message: string}}
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no reply ${id}; stderr:\n${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  const send = (message: object) => child.stdin.write(JSON.stringify(message) + '\n')
  return {child, reply, send, stderr: () => stderr}
}

async function initialize(session: ReturnType<typeof startStdio>): Promise<void> {
  session.send({jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-06-18', capabilities: {}, clientInfo: {name: 'shutdown-test', version: '1'}}})
  await session.reply(1)
  session.send({jsonrpc: '2.0', method: 'notifications/initialized'})
}

/** Resolves once `condition` holds (checked every 10 ms), or fails after 10 s with `what`. */
async function waitFor(condition: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(what())
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * SIGTERM while a tool call is surely in flight, whatever the machine's load does to timings: the
 * call's API request is held at the proxy (so the call has reached the server and runs), the signal
 * is sent, and the API server answers only once the server has logged that it drains, or never
 * (`answer: false`). Resolves with the exit code and how long the process took to go.
 */
async function signalDuringCall(child: ChildProcess, stderr: () => string, held: ReturnType<TcpProxy['hold']>, answer: boolean): Promise<{code: number | null; ms: number}> {
  const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the call did not reach the API server within 10 s; stderr:\n${stderr()}`)), 10_000).unref())
  await Promise.race([held.arrived, late])
  const exited = signalAndTime(child, 'SIGTERM')
  if (answer) {
    await waitFor(() => /SIGTERM received: draining/.test(stderr()), () => `the server did not log that it drains; stderr:\n${stderr()}`)
    held.release()
  }
  return exited
}

/** Sends the signal and resolves with the exit code and how long the process took to go. */
async function signalAndTime(child: ChildProcess, signal: NodeJS.Signals): Promise<{code: number | null; ms: number}> {
  const started = performance.now()
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const code = await exited
  clearTimeout(timer)
  return {code, ms: performance.now() - started}
}

for (const runner of runners) {
  describe(`prompt exit (${runner.name})`, () => {
    let proxy: TcpProxy
    let kubeconfig: string
    let namespace: string

    before(async () => {
      namespace = await createNamespace('shutdown')
      await makeHealthyCluster(namespace, 'slow-db', {instances: 1})
      const api = new URL(harness().server)
      proxy = await startTcpProxy({host: api.hostname, port: Number(api.port)})
      kubeconfig = kubeconfigThrough(proxy)
    })
    after(() => proxy.stop())

    /**
     * Loads the Kubernetes client with a first call, then drops the kept-alive connection, so that
     * the next call opens a new (delayed) one. Run from the sources under a loaded machine, loading
     * the client takes seconds of synchronous work no signal handler can interrupt; that is not what
     * these tests measure (the single executable loads it in milliseconds).
     */
    async function warmUp(call: () => Promise<unknown>): Promise<void> {
      await call()
      await proxy.stop()
      await proxy.start()
    }
    const stdioWarmUp = (session: ReturnType<typeof startStdio>) =>
      warmUp(async () => {
        session.send({jsonrpc: '2.0', id: 100, method: 'tools/call', params: {name: 'list_postgres_clusters', arguments: {namespace}}})
        await session.reply(100)
      })

    const skip = runner.command === kmcpCommand || existsSync(binary) ? false : 'dist/kmcp is missing (npm test builds it with scripts/build-binary.ts)'

    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      test(`stdio: ${signal} while the client holds stdin open exits 0 within 1 s`, {skip}, async () => {
        const session = startStdio(runner.command('serve', '--transport', 'stdio', '--kubeconfig', kubeconfig))
        await initialize(session)
        const {code, ms} = await signalAndTime(session.child, signal)
        assert.equal(code, 0, session.stderr())
        assert.ok(ms < EXIT_WITHIN_MS, `exited ${ms.toFixed(0)} ms after ${signal}`)
      })

      test(`http: ${signal} exits 0 within 1 s with a session open`, {skip}, async () => {
        const cmd = runner.command('serve', '--transport', 'http', '--host', '127.0.0.1', '--port', '0', '--kubeconfig', kubeconfig)
        const server = await startHttpServer({kubeconfig, command: cmd})
        const client = await connectHttp(server.url)
        try {
          const {code, ms} = await signalAndTime(server.process, signal)
          assert.equal(code, 0, server.stderr())
          assert.ok(ms < EXIT_WITHIN_MS, `exited ${ms.toFixed(0)} ms after ${signal}`)
        } finally {
          await client.close().catch(() => undefined)
          await server.stop('SIGKILL')
        }
      })
    }

    test('stdio: a call that finishes within the drain time is answered, then the server exits', {skip}, async () => {
      const session = startStdio(runner.command('serve', '--transport', 'stdio', '--kubeconfig', kubeconfig))
      await initialize(session)
      await stdioWarmUp(session)
      const held = proxy.hold()
      try {
        session.send({jsonrpc: '2.0', id: 2, method: 'tools/call', params: {name: 'get_cluster_status', arguments: {name: 'slow-db', namespace}}})
        const {code, ms} = await signalDuringCall(session.child, session.stderr, held, true)
        const answer = await session.reply(2)
        assert.equal(answer.result?.isError, undefined, JSON.stringify(answer))
        assert.match(answer.result?.content[0].text ?? '', /slow-db/)
        assert.equal(code, 0, session.stderr())
        assert.ok(ms < EXIT_WITHIN_MS, `exited ${ms.toFixed(0)} ms after SIGTERM`)
      } finally {
        held.release()
      }
    })

    test('stdio: a call still running after the drain time is answered with an error and logged', {skip}, async () => {
      const session = startStdio(runner.command('serve', '--transport', 'stdio', '--kubeconfig', kubeconfig))
      await initialize(session)
      await stdioWarmUp(session)
      const held = proxy.hold()
      try {
        session.send({jsonrpc: '2.0', id: 2, method: 'tools/call', params: {name: 'get_cluster_status', arguments: {name: 'slow-db', namespace}}})
        const {code, ms} = await signalDuringCall(session.child, session.stderr, held, false)
        const answer = await session.reply(2)
        assert.match(answer.error?.message ?? '', /shutting down .* effect is unknown/)
        assert.match(session.stderr(), /1 request\(s\) still running .*tools\/call get_cluster_status/s)
        assert.equal(code, 0)
        assert.ok(ms < EXIT_WITHIN_MS, `exited ${ms.toFixed(0)} ms after SIGTERM`)
      } finally {
        held.release()
      }
    })

    test('http: SIGTERM drains an in-flight tool call, then exits 0', {skip}, async () => {
      const server = await startHttpServer({kubeconfig, command: runner.command('serve', '--transport', 'http', '--host', '127.0.0.1', '--port', '0', '--kubeconfig', kubeconfig)})
      let held: ReturnType<TcpProxy['hold']> | undefined
      try {
        const client = await connectHttp(server.url)
        await warmUp(() => callTool(client, 'list_postgres_clusters', {namespace}))
        held = proxy.hold()
        const inFlight = callTool(client, 'get_cluster_status', {name: 'slow-db', namespace})
        const exited = signalDuringCall(server.process, server.stderr, held, true)
        const result = await inFlight
        assert.equal(result.isError, undefined, textOf(result))
        assert.match(textOf(result), /slow-db/)
        const {code, ms} = await exited
        assert.equal(code, 0)
        assert.ok(ms < EXIT_WITHIN_MS, `exited ${ms.toFixed(0)} ms after SIGTERM`)
        await client.close().catch(() => undefined)
      } finally {
        held?.release()
        await server.stop('SIGKILL')
      }
    })

    test('http: a call still running after the drain time is answered with an error and logged; exit within 1 s', {skip}, async () => {
      const server = await startHttpServer({kubeconfig, command: runner.command('serve', '--transport', 'http', '--host', '127.0.0.1', '--port', '0', '--kubeconfig', kubeconfig)})
      let held: ReturnType<TcpProxy['hold']> | undefined
      try {
        const client = await connectHttp(server.url)
        await warmUp(() => callTool(client, 'list_postgres_clusters', {namespace}))
        held = proxy.hold()
        const inFlight = callTool(client, 'get_cluster_status', {name: 'slow-db', namespace}).then(
          () => 'answered',
          (error: Error) => error.message,
        )
        const {code, ms} = await signalDuringCall(server.process, server.stderr, held, false)
        assert.match(await inFlight, /shutting down .* effect is unknown/)
        assert.match(server.stderr(), /1 request\(s\) still running after the drain time were stopped \(1 MCP request\(s\) answered with an error\)/)
        assert.equal(code, 0)
        assert.ok(ms < EXIT_WITHIN_MS, `exited ${ms.toFixed(0)} ms after SIGTERM`)
        await client.close().catch(() => undefined)
      } finally {
        held?.release()
        await server.stop('SIGKILL')
      }
    })
  })
}
