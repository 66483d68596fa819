import {defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {truncationSchema} from '../budget.ts'
import {detailLevelParam, formatParam, kubeName, namespaceParam} from '../validation.ts'
import {type CnpgCluster, cnpgPath} from './api.ts'
import {clusterSummarySchema, renderClusterSummary, summarizeCluster} from './cluster-summary.ts'

export const getClusterStatus = defineTool({
  name: 'get_cluster_status',
  title: 'Get PostgreSQL cluster status',
  description: [
    'Show the status of one CloudNativePG cluster: phase, "X/Y ready" instances, current and target primary; with detail_level="detailed" also the image, storage, per-instance health, conditions, PostgreSQL parameters and legacy managed roles.',
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
  output: clusterSummarySchema.extend({truncated: truncationSchema}).shape,
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const cluster = await kubeStep(`getting cluster ${namespace}/${args.name}`, () =>
      kube.request<CnpgCluster>({method: 'GET', path: cnpgPath('clusters', namespace, args.name), signal: context.signal}),
    )
    const structured = summarizeCluster(cluster, args.detail_level === 'detailed')
    return {structured, render: renderClusterSummary}
  },
})
