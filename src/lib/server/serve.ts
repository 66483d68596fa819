import {LazyKubeClient} from '../k8s/client.ts'
import {localIdentity} from '../tools/registry.ts'
import {configureLogging, log, type LogLevel} from './logger.ts'
import {serveHttp, type HttpAuthLayer} from './http.ts'
import {serveStdio} from './stdio.ts'

export interface ServeOptions {
  transport: 'stdio' | 'http'
  host: string
  port: number
  path: string
  kubeconfig?: string
  context?: string
  logLevel: LogLevel
  insecureNoAuth: boolean
}

/** Thrown for a configuration the server refuses to start with; the message says what to do. */
export class ServeConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ServeConfigError'
  }
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** Decides how HTTP requests are authenticated; refuses an open server on a reachable address. */
async function httpAuthLayer(options: ServeOptions): Promise<HttpAuthLayer | undefined> {
  if (options.insecureNoAuth) {
    if (!isLoopbackHost(options.host)) log.warn(`authentication is OFF (--insecure-no-auth) on ${options.host}: anyone who can reach this port can act with kmcp's Kubernetes rights`)
    return undefined
  }
  if (isLoopbackHost(options.host)) return undefined
  throw new ServeConfigError(
    `refusing to serve HTTP on ${options.host} without authentication: anyone who can reach it could manage your PostgreSQL clusters with kmcp's Kubernetes rights. ` +
      'Listen on loopback (--host 127.0.0.1) for local use, or pass --insecure-no-auth if something in front of kmcp already authenticates every request.',
  )
}

/** Runs `kmcp serve` until it is told to stop. */
export async function serve(options: ServeOptions): Promise<void> {
  configureLogging({level: options.logLevel})
  const kube = new LazyKubeClient({kubeconfig: options.kubeconfig, context: options.context})
  if (options.transport === 'stdio') {
    await serveStdio(kube)
    return
  }
  const auth = await httpAuthLayer(options)
  const running = await serveHttp({
    host: options.host,
    port: options.port,
    path: options.path,
    kube,
    auth,
    anonymousIdentity: {...localIdentity(), transport: 'http'},
  })
  log.info(`MCP server listening on ${running.url} (Streamable HTTP; health: /healthz, readiness: /readyz; authentication ${auth ? 'on' : 'off'})`)
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal} received: draining in-flight requests`)
      running.shutdown().finally(resolve)
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
  log.info('stopped')
}
