import type {Toolset} from '../registry.ts'
import {getClusterStatus} from './get-cluster-status.ts'
import {listPostgresClusters} from './list-postgres-clusters.ts'

/** Every CloudNativePG tool, in the order tools/list shows them. */
export const cnpgToolset: Toolset = {
  name: 'cnpg',
  description: 'CloudNativePG clusters, backups, roles and databases',
  tools: [listPostgresClusters, getClusterStatus],
}
