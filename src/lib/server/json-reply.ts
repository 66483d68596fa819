import type {ServerResponse} from 'node:http'

/** A JSON answer that no cache keeps (tokens, errors, session data). Does nothing once headers are out. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return
  res.writeHead(status, {'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache', ...headers})
  res.end(JSON.stringify(body))
}

/** A JSON-RPC error outside any session (id null), as the MCP transport answers refused requests. */
export function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, {jsonrpc: '2.0', error: {code, message}, id: null}, headers)
}
