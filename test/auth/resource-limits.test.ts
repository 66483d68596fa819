// Bounded resources of the HTTP server (findings 3 and 4 of issue #14): slow or idle connections
// are closed, request bodies have a deadline, connections and MCP sessions are capped (429/503
// with Retry-After), idle sessions expire, and a flood of initialize requests leaves memory flat
// and the server answering. Checked on Node (the sources) and on Bun (dist/kmcp, what ships),
// whose node:http ignores some of Node's server options.
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {harness} from '../support/kube.ts'
import {REPO_ROOT, connectHttp, startHttpServer, type HttpServerProcess} from '../support/mcp.ts'
import {INITIALIZE_BODY, MCP_HEADERS, rawHttp} from '../support/raw-http.ts'

const BINARY = join(REPO_ROOT, 'dist', 'kmcp')
const runtimes: Array<{name: string; binary?: string}> = [{name: 'Node (sources)'}, {name: 'Bun (dist/kmcp)', binary: BINARY}]
const servers: HttpServerProcess[] = []

after(async () => {
  for (const server of servers) await server.stop()
})

async function start(binary: string | undefined, extraArgs: string[] = []): Promise<HttpServerProcess> {
  const server = await startHttpServer({kubeconfig: harness().kubeconfigPath, binary, extraArgs})
  servers.push(server)
  return server
}

/** Opens a raw connection, runs `feed` on it, and resolves with how long the server kept it open. */
function heldFor(port: number, feed: (socket: Socket) => void, giveUpMs = 60_000): Promise<{ms: number; answer: string}> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    const giveUp = setTimeout(() => {
      socket.destroy()
      resolve({ms: Infinity, answer})
    }, giveUpMs)
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8')
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(giveUp)
      resolve({ms: Date.now() - started, answer})
    })
    socket.on('connect', () => feed(socket))
    socket.on('timeout', () => reject(new Error('socket timeout')))
  })
}

/** Writes `text` one byte every `everyMs` while the socket is open (a slowloris). */
function trickle(socket: Socket, text: string, everyMs = 1000): void {
  let index = 0
  const timer = setInterval(() => {
    if (socket.destroyed || index >= text.length) return clearInterval(timer)
    socket.write(text[index++])
  }, everyMs)
  socket.once('close', () => clearInterval(timer))
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? 0) * 1024
}

for (const runtime of runtimes) {
  describe(`connection deadlines on ${runtime.name}`, () => {
    test('slow headers, an idle connection and a trickled body are cut off', async (t) => {
      if (runtime.binary && !existsSync(runtime.binary)) return t.skip('dist/kmcp is not built (npm test builds it with scripts/build-binary.ts)')
      const server = await start(runtime.binary)
      const port = Number(new URL(server.url).port)
      const [headers, idle, body] = await Promise.all([
        // Headers one byte a second: never complete within the 10 s header deadline.
        heldFor(port, (s) => trickle(s, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ' + 'a'.repeat(200) + '\r\n\r\n')),
        heldFor(port, () => undefined),
        // A body that would take 1000 s: the 30 s body deadline ends it with 408.
        heldFor(port, (s) => {
          s.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: ${MCP_HEADERS.accept}\r\nContent-Length: 1000\r\n\r\n`)
          trickle(s, ' '.repeat(1000))
        }),
      ])
      assert.ok(headers.ms < 20_000, `slow headers held the connection ${headers.ms} ms`)
      assert.ok(idle.ms < 20_000, `an idle connection was held ${idle.ms} ms`)
      assert.ok(body.ms < 40_000, `a trickled body held the connection ${body.ms} ms`)
      assert.match(body.answer, /^HTTP\/1\.1 408/, body.answer.slice(0, 200))
      // And the server still answers.
      assert.equal((await rawHttp(`http://127.0.0.1:${port}/healthz`)).status, 200)
    })

    test('connections beyond --max-connections are closed; the server keeps answering', async (t) => {
      if (runtime.binary && !existsSync(runtime.binary)) return t.skip('dist/kmcp is not built')
      const server = await start(runtime.binary, ['--max-connections', '20'])
      const port = Number(new URL(server.url).port)
      const sockets: Socket[] = []
      let refused = 0
      // Kept-alive connections that each made a request (Bun reports a connection to the server
      // only with its first request; silent ones it closes itself after 10 s).
      await Promise.all(
        Array.from({length: 60}, () => new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1')
          sockets.push(socket)
          let answered = false
          socket.on('error', () => undefined)
          socket.on('data', () => {
            answered = true
          })
          socket.on('close', () => {
            if (!answered) refused++
            resolve()
          })
          socket.on('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'))
          setTimeout(resolve, 2000)
        })),
      )
      assert.ok(refused >= 40 - 5, `only ${refused} of 60 connections were refused with a limit of 20`)
      for (const socket of sockets) socket.destroy()
      await new Promise((r) => setTimeout(r, 300))
      assert.equal((await rawHttp(`http://127.0.0.1:${port}/healthz`)).status, 200)
    })

    test('request bodies are bounded on every endpoint, and bodyless methods may not send one', async (t) => {
      if (runtime.binary && !existsSync(runtime.binary)) return t.skip('dist/kmcp is not built')
      const server = await start(runtime.binary)
      const big = await rawHttp(server.url, {method: 'POST', headers: MCP_HEADERS, body: ' '.repeat(5 * 1024 * 1024)}).catch((error: Error) => ({status: 413, body: error.message}))
      assert.equal(big.status, 413)
      const getWithBody = await rawHttp(server.url, {method: 'GET', headers: {accept: 'text/event-stream', 'content-type': 'application/json'}, body: '{"x":1}'})
      assert.equal(getWithBody.status, 400)
    })
  })

  describe(`MCP sessions on ${runtime.name}`, () => {
    test('5,000 initialize requests: capped with 429/503 and Retry-After, RSS stays bounded, the server still answers', async (t) => {
      if (runtime.binary && !existsSync(runtime.binary)) return t.skip('dist/kmcp is not built')
      const server = await start(runtime.binary, ['--max-sessions', '300', '--max-sessions-per-user', '200'])
      const pid = server.process.pid!
      const existing = await connectHttp(server.url)
      const baseline = rssBytes(pid)
      const statuses = new Map<number, number>()
      let retryAfterMissing = 0
      let peak = baseline
      let sent = 0
      const worker = async () => {
        while (sent < 5000) {
          sent++
          const response = await rawHttp(server.url, {method: 'POST', headers: MCP_HEADERS, body: INITIALIZE_BODY})
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
          if ((response.status === 429 || response.status === 503) && !response.headers['retry-after']) retryAfterMissing++
          if (sent % 250 === 0) peak = Math.max(peak, rssBytes(pid))
        }
      }
      await Promise.all(Array.from({length: 25}, worker))
      peak = Math.max(peak, rssBytes(pid))
      const summary = JSON.stringify(Object.fromEntries(statuses))
      // The one user (authentication off) may open 200 sessions, the existing one included.
      assert.equal(statuses.get(200), 199, summary)
      assert.equal((statuses.get(429) ?? 0) + (statuses.get(200) ?? 0), 5000, summary)
      assert.equal(retryAfterMissing, 0)
      // 200 sessions cost tens of MB; 5,000 uncapped ones cost close to a GB.
      assert.ok(peak - baseline < 300 * 1024 * 1024, `RSS grew by ${Math.round((peak - baseline) / 1048576)} MB (baseline ${Math.round(baseline / 1048576)} MB)`)
      assert.equal((await rawHttp(`${server.baseUrl}/healthz`)).status, 200)
      const tools = await existing.listTools()
      assert.ok(tools.tools.length > 0, 'an existing session keeps working')
      await existing.close()
    })

    test('the global cap answers 503; an idle session expires and frees its place', async (t) => {
      if (runtime.binary && !existsSync(runtime.binary)) return t.skip('dist/kmcp is not built')
      const server = await start(runtime.binary, ['--max-sessions', '2', '--max-sessions-per-user', '10', '--session-idle-timeout', '2'])
      const open = async () => rawHttp(server.url, {method: 'POST', headers: MCP_HEADERS, body: INITIALIZE_BODY})
      const first = await open()
      assert.equal(first.status, 200)
      assert.equal((await open()).status, 200)
      const third = await open()
      assert.equal(third.status, 503, third.body)
      assert.ok(Number(third.headers['retry-after']) >= 1 && Number(third.headers['retry-after']) <= 3, String(third.headers['retry-after']))
      assert.equal((JSON.parse(third.body) as {jsonrpc: string}).jsonrpc, '2.0')
      await new Promise((r) => setTimeout(r, 4500))
      const expired = await rawHttp(server.url, {method: 'POST', headers: {...MCP_HEADERS, 'mcp-session-id': String(first.headers['mcp-session-id'])}, body: JSON.stringify({jsonrpc: '2.0', id: 2, method: 'tools/list'})})
      assert.equal(expired.status, 404, 'an idle session is gone')
      assert.equal((await open()).status, 200, 'its place is free again')
    })
  })
}

describe('resource subscriptions', () => {
  test('a session may hold at most 20 subscriptions (each is a Kubernetes watch)', async () => {
    const server = await start(undefined)
    const client = await connectHttp(server.url)
    try {
      for (let i = 0; i < 20; i++) await client.subscribeResource({uri: `cnpg://limits-ns/clusters/c${i}`})
      await assert.rejects(client.subscribeResource({uri: 'cnpg://limits-ns/clusters/c20'}), /Too many subscriptions/)
      // Subscribing again to a watched URI costs nothing and is fine.
      await client.subscribeResource({uri: 'cnpg://limits-ns/clusters/c0'})
      await client.unsubscribeResource({uri: 'cnpg://limits-ns/clusters/c1'})
      await client.subscribeResource({uri: 'cnpg://limits-ns/clusters/c20'})
    } finally {
      await client.close()
    }
  })
})
