import {defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {truncationSchema} from '../budget.ts'
import {detailLevelParam, formatParam, kubeName, namespaceParam} from '../validation.ts'
import {type CnpgCluster, cnpgPath} from './api.ts'
import {type ClusterSummary, clusterSummarySchema, renderClusterSummary, summarizeCluster} from './cluster-summary.ts'
import {type LiveStatus, liveStatusSchema, readLiveStatus, renderLiveStatus} from './live-status.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from '../common-parameters.ts'

export const getClusterStatus = defineTool({
  name: 'get_cluster_status',
  title: 'Get PostgreSQL cluster status',
  description: [
    'Status of one cluster: phase, ready instances, primary. detail_level="detailed" adds image, storage, conditions, parameters and the live state of each instance (role, LSN, replication lag, WAL archiving; needs get on pods/proxy).',
    'Example: {"name": "orders-db", "detail_level": "detailed"}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {
      name: kubeName('name', {description: SHARED_PARAMETER_DESCRIPTIONS.cluster}),
      namespace: namespaceParam(),
      detail_level: detailLevelParam(),
      format: formatParam(),
    }
  },
  get output() {
    return clusterSummarySchema().extend({live_status: liveStatusSchema().optional().describe('detailed only: per-instance status from the instance managers'), truncated: truncationSchema()}).shape
  },
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
