import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js'
import {JSONRPCMessageSchema, type JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js'
import {SHUTDOWN_ERROR} from './errors.ts'

const MAX_LINE_BYTES = 16 * 1024 * 1024

/**
 * Newline-delimited JSON-RPC over stdin/stdout, like the SDK's StdioServerTransport, except that
 * a line that is not JSON, or not a JSON-RPC message, gets a JSON-RPC error response (-32700 /
 * -32600) and the session goes on; the SDK's transport only reports it to `onerror`.
 */
export class LineDelimitedStdioTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  /** stdin reached its end (the client closed it); the session drains and ends. */
  oninputend?: () => void
  /** Requests read and not answered yet (id → what was asked), drained on shutdown. */
  readonly pending = new Map<string | number, string>()
  private buffer = ''
  private closed = false
  private readonly input: NodeJS.ReadableStream
  private readonly output: NodeJS.WritableStream

  constructor(input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout) {
    this.input = input
    this.output = output
  }

  private readonly onData = (chunk: Buffer | string) => {
    // Only the new text is searched for a newline: rescanning the whole buffer for every chunk of
    // a long line is quadratic, and a flood of input without newlines then starves signals.
    let from = this.buffer.length
    this.buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8')
    let newline: number
    while ((newline = this.buffer.indexOf('\n', from)) >= 0) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, '')
      this.buffer = this.buffer.slice(newline + 1)
      from = 0
      if (line.trim()) this.handleLine(line)
    }
    if (this.buffer.length > MAX_LINE_BYTES) {
      this.buffer = ''
      void this.sendError(null, -32600, `Invalid Request: a message longer than ${MAX_LINE_BYTES} bytes was discarded`)
    }
  }

  private readonly onEnd = () => (this.oninputend ? this.oninputend() : void this.close())
  private readonly onInputError = (error: Error) => this.onerror?.(error)

  private handleLine(line: string): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch (error) {
      void this.sendError(null, -32700, `Parse error: the line is not valid JSON (${(error as Error).message})`)
      return
    }
    const result = JSONRPCMessageSchema.safeParse(parsed)
    if (!result.success) {
      const id = typeof parsed === 'object' && parsed !== null && 'id' in parsed ? (parsed as {id: unknown}).id : null
      const safeId = typeof id === 'string' || typeof id === 'number' ? id : null
      void this.sendError(safeId, -32600, 'Invalid Request: expected a JSON-RPC 2.0 request, notification or response object')
      return
    }
    const message = result.data
    if ('method' in message && 'id' in message) {
      const params = message.params as {name?: unknown} | undefined
      this.pending.set(message.id, message.method === 'tools/call' && typeof params?.name === 'string' ? `tools/call ${params.name}` : message.method)
    } else if ('method' in message && message.method === 'notifications/cancelled') {
      // A cancelled request gets no answer (MCP cancellation), so it is no longer pending.
      this.pending.delete((message.params as {requestId?: string | number} | undefined)?.requestId ?? '')
    }
    this.onmessage?.(message)
  }

  private sendError(id: string | number | null, code: number, message: string): Promise<void> {
    // JSON-RPC requires id null when the request id could not be determined; the SDK's message
    // type has no room for that, so this bypasses send().
    return this.write(JSON.stringify({jsonrpc: '2.0', id, error: {code, message}}) + '\n')
  }

  private write(data: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.output.write(data)) resolve()
      else this.output.once('drain', resolve)
    })
  }

  async start(): Promise<void> {
    this.input.on('data', this.onData)
    this.input.on('end', this.onEnd)
    this.input.on('error', this.onInputError)
  }

  send(message: JSONRPCMessage): Promise<void> {
    if ('id' in message && !('method' in message) && message.id !== undefined) this.pending.delete(message.id)
    return this.write(JSON.stringify(message) + '\n')
  }

  /** Stops reading stdin (shutdown); answers can still be sent. */
  stopReading(): void {
    this.input.off('data', this.onData)
    this.input.off('end', this.onEnd)
    this.input.pause()
  }

  /**
   * Waits until every pending request is answered or `timeoutMs` passed; the requests still
   * unanswered then get an error response saying the server stopped, and are returned.
   */
  async drain(timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs
    while (this.pending.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    const interrupted = [...this.pending]
    this.pending.clear()
    for (const [id] of interrupted) {
      await this.write(JSON.stringify({jsonrpc: '2.0', id, error: SHUTDOWN_ERROR}) + '\n')
    }
    return interrupted.map(([, what]) => what)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.input.off('data', this.onData)
    this.input.off('end', this.onEnd)
    this.input.off('error', this.onInputError)
    this.buffer = ''
    this.onclose?.()
  }
}
