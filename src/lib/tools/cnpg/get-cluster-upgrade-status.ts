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
    'Where a version change stands: version on disk, desired image, major-upgrade target and job pod, image per instance. If the job fails, get_cluster_logs on its pod shows pg_upgrade\'s output.',
    'Example: {"name": "orders-db"}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {name: clusterNameParam(), namespace: namespaceParam(), format: formatParam()}
  },
  get output() {
    return upgradeStatusSchema().extend({truncated: truncationSchema()}).shape
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const {kube, cluster} = await loadCluster(context, args.name, args.namespace)
    return {structured: await upgradeStatus(kube, cluster, context.signal), render: renderUpgradeStatus}
  },
})
