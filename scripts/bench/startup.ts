// Start-up benchmark of the single executable (issue: foundation, "Speed and memory").
//   node scripts/bench/startup.ts [--runs 15] [--binary dist/kmcp]
// Measures, as medians over --runs runs:
//   help      spawn → `kmcp --help` exits
//   stdio     spawn `kmcp serve` → MCP initialize answered → tools/list answered
//   rss       resident memory of the server right after tools/list (from /proc/<pid>/status)
// Build the binary first: node_modules/.bin/bun scripts/build-binary.ts
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {performance} from 'node:perf_hooks'

const args = process.argv.slice(2)
const runs = Number(args[args.indexOf('--runs') + 1]) || 15
const binary = resolve(args.includes('--binary') ? args[args.indexOf('--binary') + 1] : 'dist/kmcp')

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

async function timeHelp(): Promise<number> {
  const started = performance.now()
  await new Promise<void>((done, fail) => {
    const child = spawn(binary, ['--help'], {stdio: ['ignore', 'ignore', 'inherit'], env: {}})
    child.once('exit', (code) => (code === 0 ? done() : fail(new Error(`--help exited ${code}`))))
  })
  return performance.now() - started
}

async function timeStdio(): Promise<{ms: number; rssMiB: number}> {
  const started = performance.now()
  const child = spawn(binary, ['serve', '--transport', 'stdio'], {stdio: ['pipe', 'pipe', 'inherit'], env: {}})
  let buffer = ''
  const replies = new Map<number, unknown>()
  const waitFor = (id: number) =>
    new Promise<void>((done) => {
      const check = () => {
        if (replies.has(id)) {
          child.stdout.off('data', onData)
          done()
        }
      }
      const onData = () => check()
      child.stdout.on('data', onData)
      check()
    })
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const message = JSON.parse(buffer.slice(0, newline)) as {id?: number}
      buffer = buffer.slice(newline + 1)
      if (typeof message.id === 'number') replies.set(message.id, message)
    }
  })
  const send = (message: object) => child.stdin.write(JSON.stringify(message) + '\n')
  send({jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-06-18', capabilities: {}, clientInfo: {name: 'bench', version: '1'}}})
  await waitFor(1)
  send({jsonrpc: '2.0', method: 'notifications/initialized'})
  send({jsonrpc: '2.0', id: 2, method: 'tools/list'})
  await waitFor(2)
  const ms = performance.now() - started
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  child.stdin.end()
  await new Promise((done) => child.once('exit', done))
  return {ms, rssMiB: rssKiB / 1024}
}

const help: number[] = []
const stdio: number[] = []
const rss: number[] = []
await timeHelp() // warm the page cache once; not counted
for (let i = 0; i < runs; i++) {
  help.push(await timeHelp())
  const result = await timeStdio()
  stdio.push(result.ms)
  rss.push(result.rssMiB)
}
const fmt = (values: number[]) => `median ${median(values).toFixed(1)} (min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)})`
console.log(`binary: ${binary}, runs: ${runs}`)
console.log(`kmcp --help:                          ${fmt(help)} ms   (target <= 120 ms)`)
console.log(`spawn -> initialize + tools/list:      ${fmt(stdio)} ms   (target <= 150 ms)`)
console.log(`RSS after tools/list:                  ${fmt(rss)} MiB  (target <= 80 MiB)`)
