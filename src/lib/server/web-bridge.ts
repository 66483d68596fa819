import type {IncomingMessage, ServerResponse} from 'node:http'

/** Hop-by-hop and body headers that do not apply to a Request built without a body. */
const NOT_COPIED = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade'])
/** Hop-by-hop headers of a web Response that the node server decides itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade'])

/**
 * A web-standard Request for a node request whose body was already read (the MCP transport then
 * gets it as parsedBody), so the same transport can serve node requests and replayed messages.
 */
export function toWebRequest(req: IncomingMessage, overrideHeaders: Record<string, string> = {}): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || NOT_COPIED.has(name)) continue
    headers.set(name, Array.isArray(value) ? value.join(', ') : value)
  }
  for (const [name, value] of Object.entries(overrideHeaders)) headers.set(name, value)
  return new Request(new URL(req.url ?? '/', 'http://localhost'), {method: req.method, headers})
}

/** A synthetic POST of one JSON-RPC message to the MCP transport (session rebuild). */
export function syntheticPost(sessionId: string | undefined, body: unknown): Request {
  const headers: Record<string, string> = {accept: 'application/json, text/event-stream', 'content-type': 'application/json'}
  if (sessionId) headers['mcp-session-id'] = sessionId
  return new Request('http://localhost/mcp', {method: 'POST', headers, body: JSON.stringify(body)})
}

/**
 * Writes a web Response to a node response: status, headers, then the body as it arrives (SSE
 * streams flush each event). When the client goes away the body stream is cancelled, which is
 * how the transport learns that a stream closed.
 */
export async function sendWebResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {}
  // Connection management is this HTTP server's (it sends the Keep-Alive hint clients need to stop
  // reusing a connection before the server closes it); the SDK's `connection: keep-alive` on SSE
  // answers would suppress that hint.
  response.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) headers[name] = value
  })
  res.writeHead(response.status, headers)
  if (!response.body) {
    res.end()
    return
  }
  res.flushHeaders()
  const reader = response.body.getReader()
  const cancel = () => void reader.cancel().catch(() => undefined)
  res.once('close', cancel)
  try {
    for (;;) {
      const {done, value} = await reader.read()
      if (done) break
      if (!res.writableEnded) res.write(value)
    }
  } catch {
    // The stream was cancelled or failed: end the response below.
  } finally {
    res.off('close', cancel)
  }
  if (!res.writableEnded) res.end()
}
