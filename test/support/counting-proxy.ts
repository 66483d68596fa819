// A plain-HTTP proxy in front of the harness API server that records every request kmcp makes
// (method, path, query, body), so a test can prove what was and was not sent to Kubernetes.
import {createServer, type IncomingMessage, type Server} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {once} from 'node:events'
import {readFileSync, writeFileSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {harness, type User} from './kube.ts'

export interface RecordedRequest {
  method: string
  path: string
  query: URLSearchParams
  body?: unknown
}

export interface CountingProxy {
  url: string
  requests: RecordedRequest[]
  /** Requests that may change something: not GET, and not a dry run (query dryRun=All, or a DeleteOptions body saying so). */
  writes(since?: number): RecordedRequest[]
  /** A kubeconfig that reaches the API server through this proxy as `user`. */
  kubeconfigFor(user: User, namespace?: string): string
  close(): Promise<void>
}

export function isDryRun(request: RecordedRequest): boolean {
  if (request.query.get('dryRun') === 'All' && request.method !== 'DELETE') return true
  const body = request.body as {dryRun?: string[]} | undefined
  if (request.method === 'DELETE') return request.query.get('dryRun') === 'All' && (body === undefined || body.dryRun?.includes('All') === true)
  return false
}

export async function startCountingProxy(): Promise<CountingProxy> {
  const h = harness()
  const target = new URL(h.server)
  const ca = readFileSync(h.caFile)
  const requests: RecordedRequest[] = []
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const url = new URL(req.url ?? '/', 'http://proxy')
      let body: unknown
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined
      } catch {
        body = raw.toString('utf8')
      }
      requests.push({method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body})
      const upstream = httpsRequest(
        {host: target.hostname, port: target.port, method: req.method, path: req.url, headers: {...req.headers, host: target.host}, ca},
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      upstream.on('error', (error) => {
        if (!res.headersSent) res.writeHead(502)
        res.end(String(error))
      })
      res.on('close', () => upstream.destroy())
      upstream.end(raw)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as {port: number}).port
  const url = `http://127.0.0.1:${port}`
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-counting-proxy-'))
  return {
    url,
    requests,
    writes: (since = 0) => requests.slice(since).filter((r) => r.method !== 'GET' && !isDryRun(r)),
    kubeconfigFor(user, namespace = 'default') {
      const file = join(dir, `${user}-${namespace}.yaml`)
      writeFileSync(file, [
        'apiVersion: v1',
        'kind: Config',
        // client-node refuses plain HTTP unless TLS verification is explicitly off (there is no TLS here).
        `clusters: [{name: proxy, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]`,
        `users: [{name: ${user}, user: {token: "${h.tokens[user]}"}}]`,
        `contexts: [{name: ${user}, context: {cluster: proxy, user: ${user}, namespace: ${namespace}}}]`,
        `current-context: ${user}`,
        '',
      ].join('\n'))
      return file
    },
    close: async () => {
      server.closeAllConnections()
      server.close()
    },
  }
}
