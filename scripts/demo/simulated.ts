// The simulated demo: no kubelet and no operator, so the script writes each object's .status
// itself, as the operator would. Used when the real node cannot run (not root, or KMCP_REAL_NODE=0).
import {createObject} from '../../test/support/kube.ts'
import {condition, createInstancePodsAndPVCs, makeHealthyCluster, setDatabaseRoleStatus, setDatabaseStatus} from '../../test/support/operator.ts'

export async function seedSimulatedClusters(namespace: string): Promise<string> {
  // 1. Healthy: three instances, all ready.
  await makeHealthyCluster(namespace, 'orders-db', {instances: 3, storageSize: '20Gi', withPods: true})
  // 2. Degraded: one replica is not ready and the operator says so.
  await makeHealthyCluster(namespace, 'analytics-db', {
    instances: 3,
    storageSize: '50Gi',
    status: {
      readyInstances: 2,
      phase: 'Waiting for the instances to become active',
      phaseReason: 'Some instances are not yet active. Please wait.',
      instancesStatus: {healthy: ['analytics-db-1', 'analytics-db-2'], failed: ['analytics-db-3']},
      conditions: [condition('Ready', 'False', 'ClusterIsNotReady', 'Cluster Is Not Ready'), condition('ContinuousArchiving', 'True', 'ContinuousArchivingSuccess', 'Continuous archiving is working')],
    },
  })
  await createInstancePodsAndPVCs(namespace, 'analytics-db', ['analytics-db-1', 'analytics-db-2', 'analytics-db-3'], {storageSize: '50Gi'})
  // 3. Healthy, with declarative databases and roles.
  await makeHealthyCluster(namespace, 'app-db', {instances: 2, storageSize: '10Gi'})
  for (const [name, owner] of [['app', 'app_owner'], ['reporting', 'reporter']] as const) {
    await createObject({apiVersion: 'postgresql.cnpg.io/v1', kind: 'DatabaseRole', metadata: {name: `app-db-${owner.replace(/_/g, '-')}`, namespace}, spec: {cluster: {name: 'app-db'}, name: owner, login: true, comment: `owner of ${name}`}})
    await setDatabaseRoleStatus(namespace, `app-db-${owner.replace(/_/g, '-')}`, {applied: true, observedGeneration: 1})
    await createObject({apiVersion: 'postgresql.cnpg.io/v1', kind: 'Database', metadata: {name: `app-db-${name}`, namespace}, spec: {cluster: {name: 'app-db'}, name, owner}})
    await setDatabaseStatus(namespace, `app-db-${name}`, {applied: true, observedGeneration: 1})
  }
  return `namespace "${namespace}" has clusters orders-db (healthy), analytics-db (degraded) and app-db (with databases and roles); their status is written by this script (simulated: no operator runs)`
}
