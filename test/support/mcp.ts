// Test helpers: a real MCP SDK Client talking to a real `kmcp serve` process over stdio pipes or
// Streamable HTTP. Tests never call tool handlers in-process.
import {spawn, type ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** The Node binary running the tests (Node >= 24, from the node@24 devDependency). */
export const NODE = process.execPath

/** argv that runs the kmcp CLI from the TypeScript sources. */
export function kmcpCommand(...args: string[]): {command: string; args: string[]} {
  return {command: NODE, args: ['--no-warnings', resolve(REPO_ROOT, 'bin/dev.js'), ...args]}
}

export interface StdioSession {
  client: Client
  /** Everything the server wrote to stderr so far (logs). */
  stderr(): string
  close(): Promise<void>
}

/** Starts `kmcp serve --transport stdio` with the given kubeconfig and connects a real client. */
export async function connectStdio(options: {kubeconfig: string; context?: string; extraArgs?: string[]; env?: Record<string, string>; capabilities?: Record<string, unknown>}): Promise<StdioSession> {
  const cmd = kmcpCommand('serve', '--transport', 'stdio', '--kubeconfig', options.kubeconfig, ...(options.context ? ['--context', options.context] : []), ...(options.extraArgs ?? []))
  const transport = new StdioClientTransport({
    command: cmd.command,
    args: cmd.args,
    env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', KMCP_LOG_LEVEL: 'debug', ...options.env},
    stderr: 'pipe',
    cwd: REPO_ROOT,
  })
  let stderr = ''
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const client = new Client({name: 'kmcp-tests', version: '1.0.0'}, {capabilities: options.capabilities ?? {}})
  await client.connect(transport)
  return {client, stderr: () => stderr, close: () => client.close()}
}

export interface HttpServerProcess {
  url: string
  baseUrl: string
  process: ChildProcess
  stderr(): string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Starts `kmcp serve --transport http` on a free loopback port and waits until it listens. */
export async function startHttpServer(options: {kubeconfig: string; context?: string; extraArgs?: string[]; env?: Record<string, string>; port?: number; binary?: string; command?: {command: string; args: string[]}}): Promise<HttpServerProcess> {
  // A fixed port is for servers whose public URL must be known before they start (OAuth tests).
  // `binary`: run that executable (dist/kmcp, on Bun) instead of the TypeScript sources on Node;
  // `command` replaces the whole command line.
  const run = options.binary ? (...args: string[]) => ({command: options.binary!, args}) : kmcpCommand
  const cmd = options.command ?? run('serve', '--transport', 'http', '--host', '127.0.0.1', '--port', String(options.port ?? 0), '--kubeconfig', options.kubeconfig, ...(options.context ? ['--context', options.context] : []), ...(options.extraArgs ?? []))
  const child = spawn(cmd.command, cmd.args, {cwd: REPO_ROOT, env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env}, stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`kmcp serve did not start within 20 s; stderr:\n${stderr}`)), 20_000)
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
      const match = /listening on (http:\/\/\S+)/.exec(stderr)
      if (match) {
        clearTimeout(timer)
        resolvePromise(match[1])
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`kmcp serve exited with ${code} before listening; stderr:\n${stderr}`))
    })
  })
  return {
    url,
    baseUrl: new URL(url).origin,
    process: child,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill(signal)
      const [code] = (await once(child, 'exit')) as [number | null]
      return code
    },
  }
}

/** Connects a real client over Streamable HTTP. */
export async function connectHttp(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({name: 'kmcp-tests', version: '1.0.0'})
  await client.connect(new StreamableHTTPClientTransport(new URL(url), {requestInit: {headers}}))
  return client
}

/** Calls a tool and returns its result, typed. */
export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({name, arguments: args})) as CallToolResult
}

/** The text of a tool result (all text parts joined). */
export function textOf(result: CallToolResult): string {
  return result.content
    .filter((part): part is {type: 'text'; text: string} => part.type === 'text')
    .map((part) => part.text)
    .join('\n')
}
