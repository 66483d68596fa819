import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import {StreamableHTTPClientTransport, StreamableHTTPError} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js'
import {ElicitRequestSchema, type CallToolResult, type InitializeResult, type JSONRPCMessage, type Tool} from '@modelcontextprotocol/sdk/types.js'
import pjson from '../../../package.json' with {type: 'json'}
import {fail, pass, type TestPlugin, type TestSession} from './plugin.ts'
import type {SessionHost} from './runner.ts'
import {cancelOnlyRunningRequests, isRepeatableTool, RequestResetError, retryingFetch} from './http-connection.ts'

/** The server under test: a command kmcp starts (stdio) or a running endpoint (HTTP). */
export type ServerTarget =
  | {transport: 'stdio'; command: string; args: string[]; env?: Record<string, string>}
  | {transport: 'http'; url: URL}

export interface SessionOptions {
  namespace?: string
  /** Upper bound for one MCP request; the runner's per-plugin timeout usually ends it first. */
  requestTimeoutMs: number
}

/** Name of the plugin that opens the MCP connection; every plugin that needs it depends on it. */
export const CONNECT_PLUGIN = 'connect'
/** Name of the plugin that obtains the HTTP bearer token (see tokens.ts). */
export const TOKEN_PLUGIN = 'token'

const STDERR_TAIL_CHARS = 2000

/**
 * Holds the run's one MCP connection. It notices when the connection goes away (the stdio server
 * exits, the HTTP server stops answering) so that later plugins are skipped with that reason
 * instead of each failing on its own.
 */
export class McpSessionHost implements SessionHost {
  readonly transport: 'stdio' | 'http'
  readonly shared = new Map<string, unknown>()
  /** The initialize result exactly as the server sent it. */
  initializeResult?: InitializeResult
  private client?: Client
  private lost?: string
  private stderrTail = ''
  private toolList?: Promise<Tool[]>
  /** Tools that declare themselves read-only or idempotent (a reset call to them may be sent again). */
  private readonly repeatableTools = new Set<string>()
  private readonly owned = new Set<string>()
  /** Bearer token for HTTP; set by the token plugin before the connection is made. */
  private token?: string
  private http?: StreamableHTTPClientTransport
  private readonly target: ServerTarget
  private readonly options: SessionOptions

  constructor(target: ServerTarget, options: SessionOptions) {
    this.target = target
    this.options = options
    this.transport = target.transport
  }

  /** Starts the server (stdio) or reaches it (HTTP) and performs initialize. */
  async connect(signal: AbortSignal): Promise<InitializeResult> {
    const client = new Client({name: 'kmcp-test', version: pjson.version}, {capabilities: {elicitation: {}}})
    cancelOnlyRunningRequests(client)
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      // Only confirmations about objects this run created are accepted.
      const mentionsOwn = [...this.owned].some((name) => request.params.message.includes(name))
      if (!mentionsOwn || !('requestedSchema' in request.params)) return {action: 'decline'}
      const content: Record<string, boolean> = {}
      for (const [key, schema] of Object.entries(request.params.requestedSchema.properties)) {
        if ((schema as {type?: string}).type === 'boolean') content[key] = true
      }
      return {action: 'accept', content}
    })
    const observed = new ObservedTransport(this.openTransport(), (message) => {
      if (!this.initializeResult && 'result' in message && message.result && 'protocolVersion' in message.result) {
        this.initializeResult = message.result as InitializeResult
      }
    })
    observed.onfailed = (error) => this.noticeFailure(error)
    observed.onclosed = () => {
      this.lost ??= this.transport === 'stdio' ? `the server process ended${this.stderrSuffix()}` : 'the connection was closed'
    }
    this.lost = undefined
    try {
      await client.connect(observed, {signal, timeout: this.options.requestTimeoutMs})
    } catch (error) {
      await client.close().catch(() => undefined)
      const hint = error instanceof StreamableHTTPError && error.code === 401 ? (this.token ? ' (the server refused the token)' : ' (the server wants a token: use --token, --token-file, --client-credentials or --login)') : ''
      throw new Error(`could not connect to the MCP server: ${describeFailure(error)}${hint}${this.stderrSuffix()}`, {cause: error})
    }
    this.client = client
    return this.initializeResult ?? ({protocolVersion: 'unknown', capabilities: client.getServerCapabilities() ?? {}, serverInfo: client.getServerVersion()!} as InitializeResult)
  }

  private openTransport(): Transport {
    if (this.target.transport === 'http') {
      const headers: Record<string, string> = this.token ? {authorization: `Bearer ${this.token}`} : {}
      this.http = new StreamableHTTPClientTransport(this.target.url, {requestInit: {headers}, fetch: retryingFetch((name) => this.repeatableTools.has(name))})
      return this.http
    }
    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value
    const stdio = new StdioClientTransport({command: this.target.command, args: this.target.args, env: {...env, ...this.target.env}, stderr: 'pipe'})
    stdio.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS)
    })
    return stdio
  }

  private stderrSuffix(): string {
    const lines = this.stderrTail.trim().split('\n').slice(-5).join('\n')
    return lines ? `\nlast lines of the server's stderr:\n${lines}` : ''
  }

  useToken(token: string | undefined): void {
    this.token = token
  }

  connectionProblem(): string | undefined {
    if (this.lost) return this.lost
    if (!this.client) return 'the connection was not made'
    return undefined
  }

  async offeredToolNames(signal: AbortSignal): Promise<Set<string>> {
    return new Set((await this.listTools(signal)).map((tool) => tool.name))
  }

  private listTools(signal: AbortSignal): Promise<Tool[]> {
    this.toolList ??= (async () => {
      const tools: Tool[] = []
      let cursor: string | undefined
      do {
        const page = await this.requireClient().listTools(cursor ? {cursor} : undefined, {signal, timeout: this.options.requestTimeoutMs})
        tools.push(...page.tools)
        cursor = page.nextCursor
      } while (cursor)
      for (const tool of tools) if (isRepeatableTool(tool)) this.repeatableTools.add(tool.name)
      return tools
    })()
    // A failed or aborted listing is not cached: the next plugin asks again.
    this.toolList.catch(() => {
      this.toolList = undefined
    })
    return this.toolList
  }

  private requireClient(): Client {
    if (!this.client) throw new Error(`no MCP connection: ${this.connectionProblem()}`)
    return this.client
  }

  /** Records network failures that mean the HTTP server is gone. */
  private noticeFailure(error: unknown): void {
    if (this.transport !== 'http' || error instanceof RequestResetError) return
    const code = networkErrorCode(error)
    if (code) this.lost ??= `the server stopped answering (${code})`
  }

  forPlugin(signal: AbortSignal): TestSession {
    const host = this
    const requestOptions = {signal, timeout: this.options.requestTimeoutMs}
    return {
      get client() {
        return host.requireClient()
      },
      transport: this.transport,
      initializeResult: this.initializeResult,
      url: this.target.transport === 'http' ? this.target.url : undefined,
      token: this.token,
      namespace: this.options.namespace,
      signal,
      shared: this.shared,
      tools: () => this.listTools(signal),
      callTool: async (name, args = {}) => {
        try {
          return (await this.requireClient().callTool({name, arguments: args}, undefined, requestOptions)) as CallToolResult
        } catch (error) {
          this.noticeFailure(error)
          throw error
        }
      },
      ownObject: (name) => {
        this.owned.add(name)
      },
    }
  }

  async close(): Promise<void> {
    const client = this.client
    this.client = undefined
    // Ending the HTTP session (DELETE) frees it on the server at once instead of at its expiry.
    // Bounded: a server that hangs must not keep the run from finishing.
    if (client && !this.lost && this.http) await Promise.race([this.http.terminateSession().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())])
    this.lost ??= 'the run ended'
    await client?.close().catch(() => undefined)
  }
}

/** The plugin that opens the connection; it is part of every run that needs one. */
export function connectPlugin(host: McpSessionHost, options: {afterToken: boolean}): TestPlugin {
  return {
    name: CONNECT_PLUGIN,
    group: 'session',
    description: 'Start or reach the MCP server and complete initialize',
    needsConnection: false,
    dependsOn: options.afterToken ? [TOKEN_PLUGIN] : [],
    test: async (session) => {
      try {
        const result = await host.connect(session.signal)
        return pass(`connected over ${host.transport} to ${result.serverInfo?.name ?? '?'} ${result.serverInfo?.version ?? '?'} (protocol ${result.protocolVersion})`)
      } catch (error) {
        return fail(error instanceof Error ? error.message.split('\n')[0] : String(error), error instanceof Error ? error.message : undefined)
      }
    },
  }
}

/** A message and its causes (fetch hides ECONNREFUSED and friends in `cause`). */
export function describeFailure(error: unknown): string {
  const parts: string[] = []
  let current: unknown = error
  for (let depth = 0; current && depth < 4; depth++) {
    if (current instanceof Error) {
      const code = (current as NodeJS.ErrnoException).code
      parts.push(code && !current.message.includes(code) ? `${current.message} (${code})` : current.message)
      current = current.cause
    } else {
      parts.push(String(current))
      break
    }
  }
  return [...new Set(parts)].join(': ')
}

function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as NodeJS.ErrnoException).code
    if (code && /^(ECONNREFUSED|ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED|ENOTFOUND|EHOSTUNREACH)$/.test(code)) return code
    current = current.cause
  }
  return undefined
}

/**
 * Passes everything through to the real transport while letting the session see incoming
 * messages (to keep the raw initialize result) and the close.
 */
class ObservedTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: Transport['onmessage']
  onclosed?: () => void
  onfailed?: (error: Error) => void
  private readonly inner: Transport

  constructor(inner: Transport, observe: (message: JSONRPCMessage) => void) {
    this.inner = inner
    inner.onmessage = (message, extra) => {
      observe(message)
      this.onmessage?.(message, extra)
    }
    inner.onclose = () => {
      this.onclosed?.()
      this.onclose?.()
    }
    inner.onerror = (error) => {
      this.onfailed?.(error)
      this.onerror?.(error)
    }
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId
  }

  start(): Promise<void> {
    return this.inner.start()
  }

  send(message: JSONRPCMessage, options?: Parameters<Transport['send']>[1]): Promise<void> {
    return this.inner.send(message, options)
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version)
  }
}
