// A real redis-server for the tests, on a free loopback port: nothing written to disk, or (persistent)
// an append-only file in a temporary directory, so that a restart keeps what it held.
import {spawn, type ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export interface TestRedis {
  url: string
  port: number
  /**
   * Stops the server with SIGTERM (to test outages); start() brings it back on the same port:
   * empty, or, when persistent, with everything it held (its append-only file is synced on every write).
   */
  stop(): Promise<void>
  start(): Promise<void>
  /** Every key currently stored (the tests check what was and was not stored). */
  keys(pattern?: string): Promise<string[]>
  /** Runs one redis command and returns its raw reply. */
  command(...args: string[]): Promise<string>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as {port: number}).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Starts redis-server; call stop() in `after`. `persistent`: appendonly yes in a temporary directory (removed at exit). */
export async function startRedis(options: {persistent?: boolean} = {}): Promise<TestRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  let persistence = ['--appendonly', 'no']
  if (options.persistent) {
    const dir = mkdtempSync(join(tmpdir(), 'kmcp-redis-'))
    process.once('exit', () => rmSync(dir, {recursive: true, force: true}))
    persistence = ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always']
  }

  const start = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--protected-mode', 'yes', '--loglevel', 'warning'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = proc
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000)
      const poll = setInterval(() => {
        command(port, 'PING').then(
          (reply) => {
            if (reply === 'PONG') {
              clearTimeout(timer)
              clearInterval(poll)
              resolve()
            }
          },
          () => undefined,
        )
      }, 50)
      proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
      proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
      proc.once('exit', (code) => {
        clearTimeout(timer)
        clearInterval(poll)
        reject(new Error(`redis-server exited with ${code}:\n${output}`))
      })
    })
  }

  const stop = async () => {
    if (!child || child.exitCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  }

  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    keys: async (pattern = '*') => {
      const reply = await command(port, 'KEYS', pattern)
      return reply ? reply.split('\n').filter(Boolean) : []
    },
    command: (...args) => command(port, ...args),
  }
}

/** A minimal RESP client: one command, one reply (arrays joined by newlines). */
async function command(port: number, ...args: string[]): Promise<string> {
  const {connect} = await import('node:net')
  const socket = connect(port, '127.0.0.1')
  const payload = `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')
  socket.write(payload)
  let data = ''
  return new Promise<string>((resolve, reject) => {
    socket.on('error', reject)
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8')
      const parsed = parseReply(data)
      if (parsed !== undefined) {
        socket.end()
        resolve(parsed)
      }
    })
  })
}

function parseReply(data: string): string | undefined {
  const lines = data.split('\r\n')
  const head = lines[0]
  if (lines.length < 2) return undefined
  switch (head[0]) {
    case '+':
    case ':':
      return head.slice(1)
    case '-':
      return head
    case '$':
      if (head === '$-1') return ''
      return lines.length >= 3 ? lines[1] : undefined
    case '*': {
      const count = Number(head.slice(1))
      if (count <= 0) return ''
      const items: string[] = []
      let i = 1
      while (items.length < count) {
        if (i + 1 >= lines.length) return undefined
        if (lines[i] === '$-1') {
          items.push('')
          i += 1
          continue
        }
        items.push(lines[i + 1])
        i += 2
      }
      return items.join('\n')
    }
    default:
      return undefined
  }
}
