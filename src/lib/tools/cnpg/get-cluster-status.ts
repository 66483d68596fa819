import {defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {truncationSchema} from '../budget.ts'
import {detailLevelParam, formatParam, kubeName, namespaceParam} from '../validation.ts'
import {type CnpgCluster, cnpgPath} from './api.ts'
import {type ClusterSummary, clusterSummarySchema, renderClusterSummary, summarizeCluster} from './cluster-summary.ts'
import {type LiveStatus, liveStatusSchema, readLiveStatus, renderLiveStatus} from './live-status.ts'

export const getClusterStatus = defineTool({
  name: 'get_cluster_status',
  title: 'Get PostgreSQL cluster status',
  description: [
    'Show the status of one CloudNativePG cluster: phase, "X/Y ready" instances, current and target primary; with detail_level="detailed" also the image, storage, per-instance health, conditions, PostgreSQL parameters and legacy managed roles, and the live status of each instance as `kubectl cnpg status` shows it (role, timeline, current LSN, replication state and lag in bytes and write/flush/replay time, WAL archiving, fencing, missing instances), read from the instance managers through the pod proxy (needs get on pods/proxy).',
    'Use it to check health before and after a change, or to diagnose a degraded cluster.',
    'Example: {"name": "orders-db", "namespace": "payments", "detail_level": "detailed"}.',
    'Errors: 404 when no cluster has that name in the namespace (list_postgres_clusters shows what exists); 403 when kmcp may not read clusters there.',
  ].join('\n'),
  input: {
    name: kubeName('name', {description: 'Name of the CNPG Cluster, e.g. "orders-db".'}),
    namespace: namespaceParam,
    detail_level: detailLevelParam,
    format: formatParam,
  },
  output: clusterSummarySchema.extend({live_status: liveStatusSchema.optional().describe('detailed only: per-instance status from the instance managers'), truncated: truncationSchema}).shape,
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const cluster = await kubeStep(`getting cluster ${namespace}/${args.name}`, () =>
      kube.request<CnpgCluster>({method: 'GET', path: cnpgPath('clusters', namespace, args.name), signal: context.signal}),
    )
    const detailed = args.detail_level === 'detailed'
    const structured: ClusterSummary & {live_status?: LiveStatus} = summarizeCluster(cluster, detailed)
    if (detailed) structured.live_status = await readLiveStatus(kube, cluster, context.signal)
    return {
      structured,
      render: (s: typeof structured) => [renderClusterSummary(s), ...(s.live_status ? renderLiveStatus(s.live_status) : [])].join('\n'),
    }
  },
})
