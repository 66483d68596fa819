import {z} from 'zod'
import type {KubeClient} from '../../k8s/client.ts'
import {KubeApiError} from '../../k8s/errors.ts'
import {defineTool} from '../registry.ts'
import {ToolError, kubeStep} from '../errors.ts'
import {type TruncationNote, truncationSchema} from '../budget.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {type CnpgCluster, type ObjectList, type ObjectMeta, cnpgPath} from './api.ts'
import {loadCluster} from './cluster-ops.ts'
import {type CoreEvent, type OwnedObjects, belongsToCluster, clusterEventSchema, foldEvents, renderClusterEvent} from './cluster-events.ts'
import {renderNewestFirst, sinceCutoff} from './log-lines.ts'
import {clusterNameParam} from './params.ts'

/** At most this many events are read from the namespace (pages of 500). */
const MAX_EVENTS_READ = 5000

export const listClusterEvents = defineTool({
  name: 'list_cluster_events',
  title: 'List PostgreSQL cluster events',
  description: [
    'Kubernetes events of a cluster and everything it owns (pods, PVCs, jobs, services), newest first, repeats folded. Shows scheduling, image pull, probe, volume and failover problems. Kubernetes keeps events about an hour.',
    'Example: {"name": "orders-db", "type": "Warning", "since": "30m"}.',
    'Errors: 404; 403 without list events.',
  ].join('\n'),
  get input() {
    return {
      name: clusterNameParam(),
      namespace: namespaceParam(),
      type: z.enum(['Normal', 'Warning']).optional().describe('"Warning" shows problems.'),
      since: z.string().max(40).optional().describe('A duration ("15m", "2h") or an RFC 3339 time.'),
      limit: z.number().int().min(1).max(500).default(50).describe('Events returned.'),
      format: formatParam(),
    }
  },
  get output() {
    return {
      cluster: z.string(),
      events: z.array(clusterEventSchema()).describe('Newest first'),
      matched: z.number().describe('Distinct events that passed the filters (before "limit")'),
      truncated: truncationSchema(),
    }
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const sinceMs = sinceCutoff(args.since)
    const target = await loadCluster(context, args.name, args.namespace)
    const {kube, namespace} = target
    const [events, owned, clusters] = await Promise.all([
      listEvents(kube, namespace, context.signal),
      ownedObjects(kube, namespace, args.name, context.signal),
      clusterNames(kube, namespace, context.signal),
    ])
    const mine = events.filter((event) => belongsToCluster(event, {name: args.name, uid: target.cluster.metadata.uid}, owned, clusters))
    const folded = foldEvents(mine).filter((event) => (!args.type || event.type === args.type) && (sinceMs === undefined || !event.last_seen || Date.parse(event.last_seen) >= sinceMs))
    const structured = {cluster: target.ref, events: folded.slice(0, args.limit), matched: folded.length}
    return {
      structured,
      listField: 'events',
      moreHint: 'Narrow the query with type="Warning", since, or a smaller limit.',
      render: (s: typeof structured & {truncated?: TruncationNote}) => {
        const nothing = `No events${args.type ? ` of type ${args.type}` : ''}${args.since ? ` since ${args.since}` : ''} for the cluster or its objects. Kubernetes keeps events about one hour; get_cluster_logs shows the instances' own logs.`
        return [`**Events of cluster ${s.cluster}**`, ...renderNewestFirst({matched: s.matched, shown: s.events.map(renderClusterEvent), truncated: s.truncated}, ['distinct event(s)', 'distinct event(s)'], nothing)].join('\n')
      },
    }
  },
})

async function listEvents(kube: KubeClient, namespace: string, signal: AbortSignal): Promise<CoreEvent[]> {
  const events: CoreEvent[] = []
  let token: string | undefined
  do {
    const page = await kubeStep(`listing the events of namespace ${namespace}`, async () => {
      try {
        return await kube.request<ObjectList<CoreEvent>>({method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, query: {limit: 500, continue: token}, signal})
      } catch (error) {
        // The CNPG ClusterRoles do not cover events: say which permission is missing.
        if (error instanceof KubeApiError && error.status === 403) {
          throw new ToolError(`Kubernetes API error 403 Forbidden: the identity kmcp uses may not list events in namespace ${namespace}.\nWhat to do: ask a cluster admin to grant "list" on "events" in that namespace (\`kmcp rbac setup\` grants it to kmcp's service account), or use a namespace you have access to.`)
        }
        throw error
      }
    })
    events.push(...page.items)
    token = page.metadata.continue || undefined
  } while (token && events.length < MAX_EVENTS_READ)
  return events
}

/**
 * The cluster's live Pods, PVCs and Services (labelled cnpg.io/cluster). A list kmcp may not read
 * is skipped: CNPG's naming still attributes those objects' events.
 */
async function ownedObjects(kube: KubeClient, namespace: string, cluster: string, signal: AbortSignal): Promise<OwnedObjects> {
  const owned: OwnedObjects = {uids: new Set(), names: new Set()}
  const kinds: Array<[string, string]> = [['Pod', 'pods'], ['PersistentVolumeClaim', 'persistentvolumeclaims'], ['Service', 'services']]
  await Promise.all(
    kinds.map(async ([kind, plural]) => {
      try {
        const list = await kube.request<ObjectList<{metadata: ObjectMeta}>>({method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/${plural}`, query: {labelSelector: `cnpg.io/cluster=${cluster}`}, signal})
        for (const item of list.items) {
          if (item.metadata.uid) owned.uids.add(item.metadata.uid)
          owned.names.add(`${kind}/${item.metadata.name}`)
        }
      } catch {
        // Not readable: the naming rule covers these objects.
      }
    }),
  )
  return owned
}

async function clusterNames(kube: KubeClient, namespace: string, signal: AbortSignal): Promise<string[]> {
  const list = await kubeStep(`listing the clusters of namespace ${namespace}`, () => kube.request<ObjectList<CnpgCluster>>({method: 'GET', path: cnpgPath('clusters', namespace), signal}))
  return list.items.map((c) => c.metadata.name)
}
