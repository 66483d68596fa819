// A raw HTTP/1.1 request with exactly the headers given (fetch will not send a forged Host).
import {request} from 'node:http'

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export function rawHttp(url: string, options: {method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number} = {}): Promise<RawResponse> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request(
      {host: target.hostname, port: target.port, path: target.pathname + target.search, method: options.method ?? 'GET', headers: {...(options.body !== undefined ? {'content-length': String(Buffer.byteLength(options.body))} : {}), ...options.headers}, setHost: !options.headers || !Object.keys(options.headers).some((h) => h.toLowerCase() === 'host')},
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
        })
        res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body}))
        res.on('error', reject)
      },
    )
    req.setTimeout(options.timeoutMs ?? 15_000, () => req.destroy(new Error(`no answer from ${url} within ${options.timeoutMs ?? 15_000} ms`)))
    req.on('error', reject)
    if (options.body !== undefined) req.write(options.body)
    req.end()
  })
}

export const INITIALIZE_BODY = JSON.stringify({jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'raw', version: '1'}}})
export const MCP_HEADERS = {'content-type': 'application/json', accept: 'application/json, text/event-stream'}
