import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import type {FetchLike} from '@modelcontextprotocol/sdk/shared/transport.js'

/**
 * How `kmcp test` keeps one MCP connection over HTTP honest: a request that could not be delivered
 * is tried again only when repeating it cannot change anything, and the end of a plugin cancels
 * only the requests that are really still running.
 */

/** Network errors that end a request before any byte of its response arrived. */
const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'])

/** Requests that only read, or set what they set (repeating them changes nothing). */
const REPEATABLE_METHODS = new Set(['ping', 'tools/list', 'resources/list', 'resources/read', 'resources/templates/list', 'prompts/list', 'prompts/get', 'completion/complete', 'logging/setLevel'])

function resetCode(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as NodeJS.ErrnoException).code
    if (code && RESET_CODES.has(code)) return code
    current = current.cause
  }
  return undefined
}

interface JsonRpcMessage {
  id?: unknown
  method?: string
  params?: {name?: unknown}
}

/** Whether sending this HTTP request twice has the same effect as sending it once. */
function repeatable(init: RequestInit | undefined, repeatableTool: (name: string) => boolean): boolean {
  const method = (init?.method ?? 'GET').toUpperCase()
  if (method === 'GET' || method === 'DELETE') return true
  if (method !== 'POST' || typeof init?.body !== 'string') return false
  let parsed: unknown
  try {
    parsed = JSON.parse(init.body)
  } catch {
    return false
  }
  const messages = (Array.isArray(parsed) ? parsed : [parsed]) as JsonRpcMessage[]
  return messages.every((message) => {
    // A notification (cancelled, initialized, ...) only tells; telling twice changes nothing.
    if (message.id === undefined) return true
    if (message.method === 'tools/call') return typeof message.params?.name === 'string' && repeatableTool(message.params.name)
    return REPEATABLE_METHODS.has(message.method ?? '')
  })
}

/**
 * fetch for the MCP client transport that tries a request once more when the connection was reset
 * before any response arrived, if the request is repeatable. That is the keep-alive race every HTTP
 * client meets: the server closes a connection it saw idle just as the client reuses it, and the
 * request dies unread. Browsers and undici retry idempotent requests in that case. A JSON-RPC POST
 * is not idempotent in general (create_postgres_cluster sent twice is not sent once, and a reset
 * does not prove the server never read the request), so only notifications, reads (tools/list,
 * ping, ...) and tools/call of tools whose annotations say readOnlyHint or idempotentHint are
 * retried; any other request fails with the reset, as before.
 */
export function retryingFetch(repeatableTool: (name: string) => boolean, base: FetchLike = fetch): FetchLike {
  return async (url, init) => {
    try {
      return await base(url, init)
    } catch (error) {
      if (init?.signal?.aborted || !resetCode(error)) throw error
      if (repeatable(init, repeatableTool)) return await base(url, init)
      // Not sent again; but one reset connection is not a server gone: the run goes on if it answers.
      if (await answersPing(base, url, init ?? {})) throw new RequestResetError(error)
      throw error
    }
  }
}

/** A request lost to a reset connection while the server still answers: this request fails, the run goes on. */
export class RequestResetError extends Error {
  constructor(cause: unknown) {
    super(
      `the connection was reset before the server answered (${resetCode(cause)}); the server still answers, but this request may change things, so it was not sent again and its effect is unknown`,
      {cause},
    )
    this.name = 'RequestResetError'
  }
}

/** Whether the server answers a ping on the same session (a fresh or other kept-alive connection). */
async function answersPing(base: FetchLike, url: string | URL, init: RequestInit): Promise<boolean> {
  try {
    const response = await base(url, {headers: init.headers, method: 'POST', body: JSON.stringify({jsonrpc: '2.0', id: 'kmcp-test-reset-check', method: 'ping'}), signal: AbortSignal.timeout(5000)})
    await response.text()
    return response.ok
  } catch {
    return false
  }
}

/** Tools whose repetition is harmless by their own declaration (MCP tool annotations). */
export function isRepeatableTool(tool: {annotations?: {readOnlyHint?: boolean; idempotentHint?: boolean}}): boolean {
  return tool.annotations?.readOnlyHint === true || tool.annotations?.idempotentHint === true
}

/**
 * Gives every request of `client` its own abort signal, tied to the caller's only while the request
 * runs. The SDK never removes its listener from the caller's signal, so when the runner aborts a
 * plugin's signal at the plugin's end, it would send notifications/cancelled for every request the
 * plugin ever made, answered or not: a burst of needless POSTs after each plugin, any of which,
 * failing, looked like the server going away.
 */
export function cancelOnlyRunningRequests(client: Client): void {
  const request = client.request.bind(client)
  client.request = ((message, resultSchema, options) => {
    const outer = options?.signal
    if (!outer || outer.aborted) return request(message, resultSchema, options)
    const own = new AbortController()
    const forward = () => own.abort(outer.reason)
    outer.addEventListener('abort', forward, {once: true})
    return request(message, resultSchema, {...options, signal: own.signal}).finally(() => outer.removeEventListener('abort', forward))
  }) as Client['request']
}
