import {readFile} from 'node:fs/promises'
import {existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import type {KubeConfig} from '@kubernetes/client-node'
import type {Dispatcher} from 'undici'
import {KubeApiError, KubeConfigError, connectionErrorFor} from './errors.ts'
import {log} from '../server/logger.ts'

/** Where kmcp should find its cluster. Empty means: in-cluster, then KUBECONFIG, then ~/.kube/config. */
export interface KubeTarget {
  kubeconfig?: string
  context?: string
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  query?: Record<string, string | number | boolean | undefined>
  body?: unknown
  /** Defaults to application/json; patches must say which patch type they are. */
  contentType?: 'application/json' | 'application/merge-patch+json' | 'application/json-patch+json' | 'application/apply-patch+yaml'
  signal?: AbortSignal
  /** Defaults to application/json (the service-account issuer's JWKS only answers application/jwk-set+json). */
  accept?: string
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'
  object: T
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

/**
 * A small REST client for the Kubernetes API: configuration and credentials come from
 * @kubernetes/client-node's KubeConfig (in-cluster, kubeconfig files, exec and OIDC plugins),
 * requests go straight through one undici connection pool so that CNPG custom resources,
 * patch types, dry runs and Status bodies are handled exactly as the API server defines them.
 */
export class KubeClient {
  readonly server: string
  readonly defaultNamespace: string
  /** Human-readable origin of the configuration, used in error messages. */
  readonly configSource: string
  private readonly kc: KubeConfig
  private readonly dispatcher: Dispatcher
  private readonly undici: typeof import('undici')
  private staticHeaders?: Record<string, string>
  /** Impersonate-User / Impersonate-Group headers of a per-user view (see withImpersonation). */
  private readonly impersonation: Record<string, string | string[]>
  private readonly init: ConstructorParameters<typeof KubeClient>[0]

  constructor(init: {kc: KubeConfig; server: string; namespace: string; configSource: string; dispatcher: Dispatcher; undici: typeof import('undici'); staticHeaders?: Record<string, string>; impersonation?: Record<string, string | string[]>}) {
    this.init = init
    this.impersonation = init.impersonation ?? {}
    this.kc = init.kc
    this.server = init.server.replace(/\/+$/, '')
    this.defaultNamespace = init.namespace
    this.configSource = init.configSource
    this.dispatcher = init.dispatcher
    this.undici = init.undici
    this.staticHeaders = init.staticHeaders
  }

  /** The client-node configuration behind this client (for client-node's streaming APIs such as PortForward). */
  kubeConfig(): KubeConfig {
    return this.kc
  }

  /** The kubeconfig cluster entry in use (server, CA); `kmcp rbac setup` copies it into a ServiceAccount kubeconfig. */
  currentCluster(): ReturnType<KubeConfig['getCurrentCluster']> {
    return this.kc.getCurrentCluster()
  }

  /**
   * A view of this client that acts as another user (Kubernetes impersonation), sharing the same
   * credentials and connection pool. The API server then applies that user's RBAC; kmcp's own
   * identity needs only the `impersonate` verb on users and groups.
   */
  withImpersonation(user: string, groups: string[]): KubeClient {
    const impersonation: Record<string, string | string[]> = {'impersonate-user': user}
    if (groups.length > 0) impersonation['impersonate-group'] = groups
    return new KubeClient({...this.init, impersonation})
  }

  private async authHeaders(): Promise<Record<string, string | string[]>> {
    if (this.staticHeaders) return {...this.staticHeaders, ...this.impersonation}
    const options: {headers?: Record<string, string>} = {}
    // Exec plugins, OIDC and rotating token files are refreshed by client-node on every call.
    await this.kc.applyToHTTPSOptions(options)
    return {...options.headers, ...this.impersonation}
  }

  private url(path: string, query?: KubeRequest['query']): string {
    const url = new URL(this.server + path)
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value))
    }
    return url.toString()
  }

  /**
   * One API call. A GET answered 429 (API priority and fairness, or a CRD's storage still
   * initializing right after it was installed) is retried twice after the Retry-After delay
   * (at most 2 s each); writes are never retried here, because their callers decide.
   */
  async request<T = unknown>(req: KubeRequest): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce<T>(req)
      } catch (error) {
        if (!(error instanceof KubeApiError) || error.status !== 429 || req.method !== 'GET' || attempt >= 3 || req.signal?.aborted) throw error
        const delayMs = Math.min(error.details?.retryAfterSeconds ?? 1, 2) * 1000
        await new Promise((resolve) => setTimeout(resolve, delayMs))
      }
    }
  }

  /**
   * One GET whose answer is not JSON: pods/log (plain text) and pods/proxy (whatever the pod
   * serves). Errors are the API server's Status bodies, turned into KubeApiError as for request().
   */
  async requestText(req: Omit<KubeRequest, 'method' | 'body' | 'contentType'>): Promise<string> {
    return this.requestOnce<string>({...req, method: 'GET'}, 'text')
  }

  private async requestOnce<T>(req: KubeRequest, expect: 'json' | 'text' = 'json'): Promise<T> {
    const headers: Record<string, string | string[]> = {accept: req.accept ?? (expect === 'json' ? 'application/json' : '*/*'), ...(await this.authHeaders())}
    let body: string | undefined
    if (req.body !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/json'
      body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body)
    }
    let response: Dispatcher.ResponseData
    try {
      response = await this.undici.request(this.url(req.path, req.query), {
        method: req.method,
        headers,
        body,
        dispatcher: this.dispatcher,
        signal: req.signal,
      })
    } catch (error) {
      if ((error as {name?: string}).name === 'AbortError') throw error
      throw connectionErrorFor(this.server, error, this.configSource)
    }
    const text = await response.body.text()
    if (response.statusCode >= 200 && response.statusCode < 300) {
      if (expect === 'text') return text as T
      return (text ? JSON.parse(text) : {}) as T
    }
    throw toApiError(response.statusCode, text, req.method, req.path, response.headers)
  }

  /**
   * Streams watch events until the server ends the watch, the signal aborts, or the timeout
   * passes. The caller decides what to wait for.
   */
  async *watch<T>(path: string, query: Record<string, string | number | boolean | undefined>, signal?: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const headers: Record<string, string | string[]> = {accept: 'application/json', ...(await this.authHeaders())}
    let response: Dispatcher.ResponseData
    try {
      response = await this.undici.request(this.url(path, {...query, watch: 'true', allowWatchBookmarks: 'true'}), {
        method: 'GET',
        headers,
        dispatcher: this.dispatcher,
        signal,
        bodyTimeout: 0,
      })
    } catch (error) {
      if ((error as {name?: string}).name === 'AbortError') return
      throw connectionErrorFor(this.server, error, this.configSource)
    }
    if (response.statusCode !== 200) {
      throw toApiError(response.statusCode, await response.body.text(), 'GET', path, response.headers)
    }
    let buffered = ''
    try {
      for await (const chunk of response.body) {
        buffered += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8')
        let newline: number
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim()
          buffered = buffered.slice(newline + 1)
          if (line) yield JSON.parse(line) as WatchEvent<T>
        }
      }
    } catch (error) {
      if ((error as {name?: string}).name === 'AbortError' || signal?.aborted) return
      throw error
    }
  }
}

function toApiError(status: number, text: string, method: string, path: string, headers: Record<string, string | string[] | undefined>): KubeApiError {
  let parsed: {message?: string; reason?: string; details?: KubeApiError['details']}
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = {message: text.trim().slice(0, 500) || `HTTP ${status}`}
  }
  const details = parsed.details ?? {}
  const retryAfter = headers['retry-after']
  if (retryAfter && !details.retryAfterSeconds) details.retryAfterSeconds = Number(retryAfter) || undefined
  return new KubeApiError({status, reason: parsed.reason, message: parsed.message ?? `HTTP ${status}`, details, method, path})
}

async function readServiceAccountNamespace(): Promise<string | undefined> {
  try {
    return (await readFile(join(SERVICE_ACCOUNT_DIR, 'namespace'), 'utf8')).trim() || undefined
  } catch {
    return undefined
  }
}

function isInCluster(): boolean {
  return Boolean(process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT && existsSync(join(SERVICE_ACCOUNT_DIR, 'token')))
}

/**
 * Builds a client. Order: an explicit --kubeconfig always wins; otherwise the in-cluster service
 * account, then $KUBECONFIG, then ~/.kube/config. --context selects a context in either file.
 */
export async function createKubeClient(target: KubeTarget): Promise<KubeClient> {
  const [{KubeConfig: KubeConfigClass}, undici] = await Promise.all([
    import('@kubernetes/client-node/dist/config.js') as Promise<typeof import('@kubernetes/client-node')>,
    import('undici'),
  ])
  const kc = new KubeConfigClass()
  let configSource: string
  let saNamespace: string | undefined
  if (target.kubeconfig) {
    if (!existsSync(target.kubeconfig)) throw new KubeConfigError(`the kubeconfig file ${target.kubeconfig} (from --kubeconfig) does not exist.`)
    kc.loadFromFile(target.kubeconfig)
    configSource = `kubeconfig ${target.kubeconfig}`
  } else if (isInCluster()) {
    kc.loadFromCluster()
    configSource = 'the in-cluster service account'
    saNamespace = await readServiceAccountNamespace()
  } else {
    const fromEnv = process.env.KUBECONFIG?.split(':').filter(Boolean)
    const file = fromEnv?.find((f) => existsSync(f)) ?? join(homedir(), '.kube', 'config')
    if (!existsSync(file)) {
      throw new KubeConfigError(
        `looked for the in-cluster service account (${SERVICE_ACCOUNT_DIR}), $KUBECONFIG${process.env.KUBECONFIG ? ` (${process.env.KUBECONFIG})` : ' (unset)'} and ${file}, and found none. Pass --kubeconfig PATH, set KUBECONFIG, or run kmcp inside the cluster with a service account.`,
      )
    }
    kc.loadFromFile(file)
    configSource = `kubeconfig ${file}`
  }
  if (target.context) {
    if (!kc.getContextObject(target.context)) {
      const known = kc.getContexts().map((c) => c.name).join(', ') || 'none'
      throw new KubeConfigError(`context "${target.context}" (from --context) is not in ${configSource}; it has: ${known}.`)
    }
    kc.setCurrentContext(target.context)
  }
  const cluster = kc.getCurrentCluster()
  if (!cluster) throw new KubeConfigError(`${configSource} has no cluster for its current context "${kc.getCurrentContext()}". Pass --context NAME.`)
  configSource += ` (context ${kc.getCurrentContext()})`
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace
  const namespace = saNamespace ?? contextNamespace ?? 'default'

  const tls: {ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string; headers?: Record<string, string>} = {}
  await kc.applyToHTTPSOptions(tls)
  const dispatcher = new undici.Agent({
    connect: {ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.rejectUnauthorized, servername: tls.servername, timeout: 10_000},
    keepAliveTimeout: 30_000,
    headersTimeout: 60_000,
    bodyTimeout: 120_000,
  })
  const user = kc.getCurrentUser()
  // A literal token or client certificate never changes; anything else is asked for per request.
  const isStatic = Boolean(user && !user.exec && !user.authProvider)
  log.debug('kubernetes client ready', {server: cluster.server, source: configSource, namespace})
  return new KubeClient({kc, server: cluster.server, namespace, configSource, dispatcher, undici, staticHeaders: isStatic ? {...tls.headers} : undefined})
}

/**
 * The process-wide client, made on first use and never at start-up. A failed attempt is not
 * remembered: the next call tries again, so a server started before its cluster recovers on its own.
 */
export class LazyKubeClient {
  private readonly target: KubeTarget
  private pending?: Promise<KubeClient>

  constructor(target: KubeTarget) {
    this.target = target
  }

  get(): Promise<KubeClient> {
    if (!this.pending) {
      this.pending = createKubeClient(this.target).catch((error: unknown) => {
        this.pending = undefined
        throw error
      })
    }
    return this.pending
  }
}
