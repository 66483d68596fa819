// An HTTP proxy in front of a `kmcp serve` that resets the connection of one chosen request after
// reading it, before any response byte: what a client sees when the server closes a kept-alive
// connection just as the client reuses it. It counts the JSON-RPC methods that went through.
import {createServer, request as httpRequest} from 'node:http'
import {once} from 'node:events'

export interface ResetProxy {
  /** The MCP URL through the proxy. */
  url: string
  /** How many requests of each JSON-RPC method (or HTTP method, for GET and DELETE) arrived. */
  seen: Map<string, number>
  /** How many connections were reset. */
  resets: number
  close(): Promise<void>
}

/** Resets the first request whose body `shouldReset` picks; forwards everything else to `target`. */
export async function startResetProxy(target: string, shouldReset: (body: string) => boolean): Promise<ResetProxy> {
  const upstream = new URL(target)
  const state: Pick<ResetProxy, 'seen' | 'resets'> = {seen: new Map(), resets: 0}
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const method = req.method === 'POST' ? (/"method":"([^"]+)"/.exec(body)?.[1] ?? 'response') : (req.method ?? '?')
    state.seen.set(method, (state.seen.get(method) ?? 0) + 1)
    if (state.resets === 0 && shouldReset(body)) {
      state.resets++
      req.socket.resetAndDestroy()
      return
    }
    const forward = httpRequest({host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: {...req.headers, host: upstream.host}}, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    forward.on('error', () => res.destroy())
    res.on('close', () => forward.destroy())
    forward.end(body)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${(server.address() as {port: number}).port}${upstream.pathname}`
  return {
    url,
    get seen() {
      return state.seen
    },
    get resets() {
      return state.resets
    },
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}
