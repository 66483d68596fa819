import type {Toolset} from '../registry.ts'
import {createBackup} from './create-backup.ts'
import {createScheduledBackup} from './create-scheduled-backup.ts'
import {deleteScheduledBackup} from './delete-scheduled-backup.ts'
import {getBackup} from './get-backup.ts'
import {hibernatePostgresCluster} from './hibernate-postgres-cluster.ts'
import {listBackups} from './list-backups.ts'
import {listScheduledBackups} from './list-scheduled-backups.ts'
import {restartPostgresCluster} from './restart-postgres-cluster.ts'
import {restorePostgresCluster} from './restore-postgres-cluster.ts'
import {resumePostgresCluster} from './resume-postgres-cluster.ts'
import {createPostgresCluster} from './create-postgres-cluster.ts'
import {deleteClusterInstance} from './delete-cluster-instance.ts'
import {deletePostgresCluster} from './delete-postgres-cluster.ts'
import {getClusterResizeStatus} from './get-cluster-resize-status.ts'
import {promoteClusterInstance} from './promote-cluster-instance.ts'
import {resizePostgresCluster} from './resize-postgres-cluster.ts'
import {getClusterStatus} from './get-cluster-status.ts'
import {listPostgresClusters} from './list-postgres-clusters.ts'
import {scalePostgresCluster} from './scale-postgres-cluster.ts'
import {getClusterLogs} from './get-cluster-logs.ts'
import {listClusterEvents} from './list-cluster-events.ts'
import {listPoolers} from './list-poolers.ts'
import {getPooler} from './get-pooler.ts'
import {createPooler} from './create-pooler.ts'
import {scalePooler} from './scale-pooler.ts'
import {pausePooler} from './pause-pooler.ts'
import {resumePooler} from './resume-pooler.ts'
import {deletePooler} from './delete-pooler.ts'
import {listPublications} from './list-publications.ts'
import {getPublication} from './get-publication.ts'
import {createPublication} from './create-publication.ts'
import {deletePublication} from './delete-publication.ts'
import {listSubscriptions} from './list-subscriptions.ts'
import {getSubscription} from './get-subscription.ts'
import {createSubscription} from './create-subscription.ts'
import {deleteSubscription} from './delete-subscription.ts'
import {upgradePostgresCluster} from './upgrade-postgres-cluster.ts'
import {getClusterUpgradeStatus} from './get-cluster-upgrade-status.ts'

/** Every CloudNativePG tool, in the order tools/list shows them. */
export const cnpgToolset: Toolset = {
  name: 'cnpg',
  description: 'CloudNativePG clusters, backups, roles and databases',
  tools: [
    listPostgresClusters,
    getClusterStatus,
    getClusterLogs,
    listClusterEvents,
    createPostgresCluster,
    scalePostgresCluster,
    resizePostgresCluster,
    getClusterResizeStatus,
    promoteClusterInstance,
    deleteClusterInstance,
    deletePostgresCluster,
    listBackups,
    getBackup,
    createBackup,
    listScheduledBackups,
    createScheduledBackup,
    deleteScheduledBackup,
    restorePostgresCluster,
    hibernatePostgresCluster,
    resumePostgresCluster,
    restartPostgresCluster,
    listPoolers,
    getPooler,
    createPooler,
    scalePooler,
    pausePooler,
    resumePooler,
    deletePooler,
    listPublications,
    getPublication,
    createPublication,
    deletePublication,
    listSubscriptions,
    getSubscription,
    createSubscription,
    deleteSubscription,
    upgradePostgresCluster,
    getClusterUpgradeStatus,
  ],
}
