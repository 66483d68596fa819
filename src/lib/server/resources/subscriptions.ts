import type {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import {UriTemplate} from '@modelcontextprotocol/sdk/shared/uriTemplate.js'
import {ErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema} from '@modelcontextprotocol/sdk/types.js'
import type {KubeClient} from '../../k8s/client.ts'
import {cnpgPath} from '../../tools/cnpg/api.ts'
import {log} from '../logger.ts'

const CLUSTER = new UriTemplate('cnpg://{namespace}/clusters/{name}')
const CHILDREN = new UriTemplate('cnpg://{namespace}/clusters/{name}/{kind}')

interface Watched {
  path: string
  query: Record<string, string>
  /** Whether an event concerns the subscribed resource. */
  relevant(object: {metadata?: {name?: string}; spec?: {cluster?: {name?: string}}}): boolean
}

function watchedFor(uri: string): Watched | undefined {
  const child = CHILDREN.match(uri)
  if (child && (child.kind === 'roles' || child.kind === 'databases')) {
    const cluster = String(child.name)
    return {path: cnpgPath(child.kind === 'roles' ? 'databaseroles' : 'databases', String(child.namespace)), query: {}, relevant: (o) => o.spec?.cluster?.name === cluster}
  }
  const cluster = CLUSTER.match(uri)
  if (cluster) return {path: cnpgPath('clusters', String(cluster.namespace)), query: {fieldSelector: `metadata.name=${cluster.name}`}, relevant: () => true}
  return undefined
}

/** Each subscription holds a Kubernetes watch: bounded per session and per process. */
export const MAX_SUBSCRIPTIONS_PER_SESSION = 20
export const MAX_SUBSCRIPTIONS_PER_PROCESS = 500
let openWatches = 0

/**
 * resources/subscribe for the cnpg:// templates: a Kubernetes watch per subscribed URI, which
 * sends notifications/resources/updated on every change, until unsubscribe or session end.
 */
export function mountSubscriptions(server: McpServer, kubeFor: () => Promise<KubeClient>): void {
  server.server.registerCapabilities({resources: {subscribe: true}})
  const active = new Map<string, AbortController>()

  async function follow(uri: string, watched: Watched, signal: AbortSignal): Promise<void> {
    const kube = await kubeFor()
    while (!signal.aborted) {
      try {
        // Start from the current version so that only real changes are reported.
        const list = await kube.request<{metadata: {resourceVersion?: string}}>({method: 'GET', path: watched.path, query: {...watched.query, limit: 1}, signal})
        for await (const event of kube.watch<{metadata?: {name?: string}; spec?: {cluster?: {name?: string}}}>(watched.path, {...watched.query, resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 300}, signal)) {
          if (event.type === 'BOOKMARK' || event.type === 'ERROR' || !watched.relevant(event.object)) continue
          await server.server.sendResourceUpdated({uri})
        }
      } catch (error) {
        if (signal.aborted) return
        log.debug('resource watch failed; retrying', {uri, error: error instanceof Error ? error.message : String(error)})
        await new Promise((r) => setTimeout(r, 2000).unref())
      }
    }
  }

  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const uri = request.params.uri
    const watched = watchedFor(uri)
    if (!watched) throw new McpError(ErrorCode.InvalidParams, `Cannot subscribe to ${uri}: only cnpg://{namespace}/clusters/{name}[/roles|/databases] resources can be watched.`)
    if (!active.has(uri)) {
      if (active.size >= MAX_SUBSCRIPTIONS_PER_SESSION) throw new McpError(ErrorCode.InvalidRequest, `Too many subscriptions in this session (at most ${MAX_SUBSCRIPTIONS_PER_SESSION}): unsubscribe from one you no longer need first.`)
      if (openWatches >= MAX_SUBSCRIPTIONS_PER_PROCESS) throw new McpError(ErrorCode.InternalError, 'The server holds its maximum of resource subscriptions; try again later or read the resource instead.')
      const controller = new AbortController()
      active.set(uri, controller)
      openWatches++
      controller.signal.addEventListener('abort', () => openWatches--, {once: true})
      void follow(uri, watched, controller.signal)
    }
    return {}
  })
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    active.get(request.params.uri)?.abort()
    active.delete(request.params.uri)
    return {}
  })
  const previousOnClose = server.server.onclose
  server.server.onclose = () => {
    for (const controller of active.values()) controller.abort()
    active.clear()
    previousOnClose?.()
  }
}
