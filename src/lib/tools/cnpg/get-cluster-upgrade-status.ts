import {defineTool} from '../registry.ts'
import {truncationSchema} from '../budget.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {loadCluster} from './cluster-ops.ts'
import {clusterNameParam} from './params.ts'
import {renderUpgradeStatus, upgradeStatus, upgradeStatusSchema} from './upgrade.ts'

export const getClusterUpgradeStatus = defineTool({
  name: 'get_cluster_upgrade_status',
  title: 'Get the upgrade status of a cluster',
  description: [
    'Show where a PostgreSQL version change of a CloudNativePG cluster stands: the version running on the data directory, the desired image, the target of a major upgrade in progress, the major-upgrade job pod, and which instance runs which image.',
    'Use it after upgrade_postgres_cluster until no upgrade is in progress; if the job pod fails, get_cluster_logs with that pod shows pg_upgrade\'s output.',
    'Example: {"name": "orders-db", "namespace": "payments"}.',
    'Errors: 404 when the cluster does not exist; 403 when kmcp may not read clusters there.',
  ].join('\n'),
  input: {name: clusterNameParam, namespace: namespaceParam, format: formatParam},
  output: upgradeStatusSchema.extend({truncated: truncationSchema}).shape,
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const {kube, cluster} = await loadCluster(context, args.name, args.namespace)
    return {structured: await upgradeStatus(kube, cluster, context.signal), render: renderUpgradeStatus}
  },
})
