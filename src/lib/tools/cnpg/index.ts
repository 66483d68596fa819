import type {Toolset} from '../registry.ts'
import {createPostgresCluster} from './create-postgres-cluster.ts'
import {deleteClusterInstance} from './delete-cluster-instance.ts'
import {deletePostgresCluster} from './delete-postgres-cluster.ts'
import {getClusterResizeStatus} from './get-cluster-resize-status.ts'
import {promoteClusterInstance} from './promote-cluster-instance.ts'
import {resizePostgresCluster} from './resize-postgres-cluster.ts'
import {getClusterStatus} from './get-cluster-status.ts'
import {listPostgresClusters} from './list-postgres-clusters.ts'
import {scalePostgresCluster} from './scale-postgres-cluster.ts'

/** Every CloudNativePG tool, in the order tools/list shows them. */
export const cnpgToolset: Toolset = {
  name: 'cnpg',
  description: 'CloudNativePG clusters, backups, roles and databases',
  tools: [
    listPostgresClusters,
    getClusterStatus,
    createPostgresCluster,
    scalePostgresCluster,
    resizePostgresCluster,
    getClusterResizeStatus,
    promoteClusterInstance,
    deleteClusterInstance,
    deletePostgresCluster,
  ],
}
