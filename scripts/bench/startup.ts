// Start-up benchmark of the single executable.
//   node scripts/bench/startup.ts [--runs 15] [--binary dist/kmcp] [--go-peer | --peer PATH [--peer-args "serve"]] [--no-write] [--smoke]
// Measures, as medians over --runs runs (the servers interleaved run by run):
//   help      spawn → `kmcp --help` exits (stdout a pipe, as scripts and agents read it); for the
//             peer too when it is a kmcp (its --version says kmcp/…)
//   stdio     spawn `kmcp serve` → MCP initialize answered, → tools/list answered (raw JSON-RPC
//             over pipes, like an MCP client)
//   cpu       CPU time (user + system) the server used until tools/list was answered: unlike the
//             wall time it barely moves when other processes load the machine
//   rss       resident memory of the server right after tools/list (from /proc/<pid>/status)
// --peer PATH runs another stdio MCP server (e.g. the Go kubernetes-mcp-server, or an older kmcp
// with --peer-args "serve") the same way, interleaved; --peer-args is split on spaces. --go-peer runs
// containers/kubernetes-mcp-server (the release binary its project publishes to npm, fetched and
// cached on first use: scripts/bench/go-peer.ts). Every server gets the same environment: only a
// KUBECONFIG whose API server refuses connections (the Go server does not start without one).
// A full run appends its result to docs/benchmarks.md (not with --no-write); --smoke runs once to prove the script works.
// Build the binary first: node_modules/.bin/bun scripts/build-binary.ts
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {performance} from 'node:perf_hooks'
import {cpuMs, flag, machineLoad, median, option, recordRun, rssMiB, smoke} from './report.ts'
import {ensureGoPeer, GO_PEER_VERSION, writeUnreachableKubeconfig} from './go-peer.ts'

const runs = smoke ? 1 : Number(option('--runs', '15'))
const binary = resolve(option('--binary', 'dist/kmcp'))
const goPeer = flag('--go-peer')
const peer = goPeer ? await ensureGoPeer() : flag('--peer') ? resolve(option('--peer', '')) : undefined
const peerName = goPeer ? `kubernetes-mcp-server ${GO_PEER_VERSION} (Go)` : 'peer'
const loadAtStart = machineLoad()
const scratch = mkdtempSync(join(tmpdir(), 'kmcp-bench-startup-'))
process.on('exit', () => rmSync(scratch, {recursive: true, force: true}))
/** The whole environment of every server run. */
const serverEnv = {KUBECONFIG: writeUnreachableKubeconfig(scratch)}

async function timeHelp(command: string): Promise<number> {
  const started = performance.now()
  await new Promise<void>((done, fail) => {
    // stdout a pipe that is drained, not /dev/null: how a script or an agent reads help.
    const child = spawn(command, ['--help'], {stdio: ['ignore', 'pipe', 'inherit'], env: serverEnv})
    child.stdout.resume()
    child.once('error', fail)
    child.once('exit', (code) => (code === 0 ? done() : fail(new Error(`--help exited ${code}`))))
  })
  return performance.now() - started
}

interface StdioTiming {
  initializeMs: number
  toolsListMs: number
  cpuMs: number
  rssMiB: number
  toolsListBytes: number
}

async function timeStdio(command: string, args: string[]): Promise<StdioTiming> {
  const started = performance.now()
  const child = spawn(command, args, {stdio: ['pipe', 'pipe', 'ignore'], env: serverEnv})
  const failed = new Promise<never>((_, fail) => {
    child.once('error', fail)
    child.once('exit', (code) => fail(new Error(`${command} exited ${code} before answering`)))
  })
  let buffer = ''
  const replies = new Map<number, string>()
  const waiters = new Map<number, () => void>()
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      const id = (JSON.parse(line) as {id?: unknown}).id
      if (typeof id === 'number') {
        replies.set(id, line)
        waiters.get(id)?.()
      }
    }
  })
  const reply = (id: number) => Promise.race([failed, new Promise<string>((done) => (replies.has(id) ? done(replies.get(id)!) : waiters.set(id, () => done(replies.get(id)!))))])
  const send = (message: object) => child.stdin.write(JSON.stringify(message) + '\n')
  send({jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-06-18', capabilities: {}, clientInfo: {name: 'bench', version: '1'}}})
  await reply(1)
  const initializeMs = performance.now() - started
  send({jsonrpc: '2.0', method: 'notifications/initialized'})
  send({jsonrpc: '2.0', id: 2, method: 'tools/list'})
  const list = await reply(2)
  const toolsListMs = performance.now() - started
  const timing = {initializeMs, toolsListMs, cpuMs: cpuMs(child.pid!), rssMiB: rssMiB(child.pid!), toolsListBytes: Buffer.byteLength(list)}
  failed.catch(() => undefined)
  child.stdin.end()
  child.kill('SIGTERM')
  await new Promise((done) => (child.exitCode !== null || child.signalCode !== null ? done(undefined) : child.once('exit', done)))
  return timing
}

const servers: Array<{name: string; command: string; args: string[]; results: StdioTiming[]}> = [{name: 'kmcp', command: binary, args: ['serve', '--transport', 'stdio'], results: []}]
if (peer) servers.push({name: peerName, command: peer, args: option('--peer-args', '').split(' ').filter(Boolean), results: []})
/** Whether the peer is an older (or other) kmcp build, whose --help is timed too. */
function isKmcp(command: string): boolean {
  return spawnSync(command, ['--version'], {encoding: 'utf8', env: serverEnv, timeout: 10_000}).stdout?.startsWith('kmcp/') ?? false
}
const helpOf: Array<{name: string; command: string; results: number[]}> = [{name: 'kmcp', command: binary, results: []}]
if (peer && isKmcp(peer)) helpOf.push({name: 'peer', command: peer, results: []})
for (const {command} of helpOf) await timeHelp(command) // warm the page cache once; not counted
for (const server of servers) await timeStdio(server.command, server.args)
for (let i = 0; i < runs; i++) {
  for (const entry of i % 2 ? [...helpOf].reverse() : helpOf) entry.results.push(await timeHelp(entry.command))
  // Which server goes first alternates, so neither always runs right after the other.
  for (const server of i % 2 ? [...servers].reverse() : servers) server.results.push(await timeStdio(server.command, server.args))
}

const fmt = (values: number[], digits = 1) => `${median(values).toFixed(digits)} (min ${Math.min(...values).toFixed(digits)}, max ${Math.max(...values).toFixed(digits)})`
const lines = [`binary: ${binary}${peer ? `, peer: ${peer}` : ''}, runs: ${runs} (medians, min and max)`]
for (const {name, results} of helpOf) lines.push(`${`${name} --help:`.padEnd(38)}${fmt(results)} ms${name === 'kmcp' ? '   (target <= 30 ms)' : ''}`)
for (const server of servers) {
  const r = server.results
  const target = server.name === 'kmcp'
  lines.push(
    `${server.name}:`,
    `  spawn -> initialize answered:        ${fmt(r.map((x) => x.initializeMs))} ms`,
    `  spawn -> + tools/list answered:      ${fmt(r.map((x) => x.toolsListMs))} ms${target ? '   (target <= 75 ms)' : ''}`,
    `  CPU time until tools/list answered:  ${fmt(r.map((x) => x.cpuMs), 0)} ms`,
    `  RSS after tools/list:                ${fmt(r.map((x) => x.rssMiB))} MiB${target ? '  (target <= 64 MiB)' : ''}`,
    `  tools/list answer:                   ${(median(r.map((x) => x.toolsListBytes)) / 1024).toFixed(1)} KiB`,
  )
}
if (servers.length === 2) {
  // Run i of both servers happened back to back, so the per-run difference cancels most of the
  // machine's load swings; its median is the comparison the target asks for (kmcp <= the peer).
  const [ours, theirs] = servers.map((server) => server.results)
  const paired = (pick: (t: StdioTiming) => number) => fmt(ours.map((x, i) => pick(x) - pick(theirs[i])))
  lines.push(
    `kmcp minus ${peerName}, run by run (negative: kmcp is faster/smaller):`,
    `  spawn -> initialize answered:        ${paired((x) => x.initializeMs)} ms`,
    `  spawn -> + tools/list answered:      ${paired((x) => x.toolsListMs)} ms   (target <= 0)`,
    `  RSS after tools/list:                ${paired((x) => x.rssMiB)} MiB`,
  )
}
console.log(lines.join('\n'))
recordRun('Start-up (scripts/bench/startup.ts)', loadAtStart, lines.join('\n'))
