// Responses sized for agents: on a typical cluster the default text of every list and status tool
// fits in 2,000 characters (the 25,000-character budget stays the ceiling); detail_level or
// format=json give more. "Typical": 3 instances with their Pods and PVCs, a week of daily
// backups, a schedule, three roles and two databases, a read-write and a read-only pooler with two
// PgBouncer pods each, two publications and a subscription, and the events of a cluster start,
// with the status the operator would write. get_cluster_logs is checked for its pod report (the
// harness has no kubelet, so no pod has logs); its entries are bounded by its "limit".
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createNamespace, createObject, kubeRequest} from '../support/kube.ts'
import {makeHealthyCluster, setBackupStatus, setDatabaseRoleStatus, setDatabaseStatus, setPoolerStatus, setScheduledBackupStatus, setStatus} from '../support/operator.ts'
import {waitForCnpgStorage} from '../cluster-tools/helpers.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {harness} from '../support/kube.ts'

const DEFAULT_TEXT_LIMIT = 2000
const CNPG = 'postgresql.cnpg.io/v1'

describe('default responses on a typical cluster', () => {
  let session: StdioSession
  let namespace: string
  const cluster = 'orders-db'

  before(async () => {
    namespace = await createNamespace('sizes')
    await makeHealthyCluster(namespace, cluster, {instances: 3, withPods: true, storageSize: '20Gi'})
    for (let day = 1; day <= 7; day++) {
      const name = `${cluster}-2026112${day}0200`
      await createObject({apiVersion: CNPG, kind: 'Backup', metadata: {name, namespace}, spec: {cluster: {name: cluster}, method: 'barmanObjectStore'}}, {namespace})
      await setBackupStatus(namespace, name, {
        phase: 'completed',
        method: 'barmanObjectStore',
        startedAt: `2026-11-2${day}T02:00:00Z`,
        stoppedAt: `2026-11-2${day}T02:07:31Z`,
        backupId: `2026112${day}T020000`,
        backupName: `backup-2026112${day}020000`,
        destinationPath: 's3://backups/orders-db',
        serverName: cluster,
        beginWal: '000000010000000000000010',
        endWal: '000000010000000000000012',
        beginLSN: '0/10000028',
        endLSN: '0/12000100',
        instanceID: {podName: `${cluster}-2`, ContainerID: 'containerd://0123456789abcdef'},
        online: true,
      })
    }
    await createObject({apiVersion: CNPG, kind: 'ScheduledBackup', metadata: {name: `${cluster}-daily`, namespace}, spec: {cluster: {name: cluster}, schedule: '0 0 2 * * *', backupOwnerReference: 'self'}}, {namespace})
    await setScheduledBackupStatus(namespace, `${cluster}-daily`, {lastScheduleTime: '2026-11-27T02:00:00Z', nextScheduleTime: '2026-11-28T02:00:00Z', lastCheckTime: '2026-11-27T02:00:00Z'})
    for (const role of ['app_reader', 'app_writer', 'reporting']) {
      await createObject({apiVersion: CNPG, kind: 'DatabaseRole', metadata: {name: `${cluster}-${role.replace(/_/g, '-')}`, namespace}, spec: {name: role, cluster: {name: cluster}, login: true, connectionLimit: 20}}, {namespace})
      await setDatabaseRoleStatus(namespace, `${cluster}-${role.replace(/_/g, '-')}`, {applied: true, observedGeneration: 1})
    }
    for (const database of ['orders', 'reporting']) {
      await createObject({apiVersion: CNPG, kind: 'Database', metadata: {name: `${cluster}-${database}`, namespace}, spec: {name: database, owner: 'app_writer', cluster: {name: cluster}}}, {namespace})
      await setDatabaseStatus(namespace, `${cluster}-${database}`, {applied: true, observedGeneration: 1})
    }
    await waitForCnpgStorage(namespace, ['poolers', 'publications', 'subscriptions'])
    for (const type of ['rw', 'ro']) {
      const pooler = `${cluster}-pooler-${type}`
      await createObject({apiVersion: CNPG, kind: 'Pooler', metadata: {name: pooler, namespace}, spec: {cluster: {name: cluster}, type, instances: 2, pgbouncer: {poolMode: 'transaction', parameters: {max_client_conn: '1000', default_pool_size: '20'}}}}, {namespace})
      await setPoolerStatus(namespace, pooler, {instances: 2})
      for (const index of [1, 2]) await createPoolerPod(namespace, `${pooler}-6c9d7f5b8-${index}x`, pooler)
    }
    for (const [name, tables] of [['orders-pub', ['public.orders', 'public.order_items']], ['customers-pub', ['public.customers']]] as const) {
      await createObject({apiVersion: CNPG, kind: 'Publication', metadata: {name, namespace}, spec: {cluster: {name: cluster}, name: name.replace(/-/g, '_'), dbname: 'orders', target: {objects: tables.map((table) => ({table: {schema: 'public', name: table.split('.')[1]}}))}}}, {namespace})
      await setStatus('publications', namespace, name, {applied: true, observedGeneration: 1})
    }
    await createObject({apiVersion: CNPG, kind: 'Subscription', metadata: {name: 'legacy-sub', namespace}, spec: {cluster: {name: cluster}, name: 'legacy_sub', dbname: 'orders', publicationName: 'legacy_pub', externalClusterName: 'legacy-db'}}, {namespace})
    await setStatus('subscriptions', namespace, 'legacy-sub', {applied: true, observedGeneration: 1})
    const events: Array<[string, string, string, string, string]> = [
      ['Cluster', cluster, 'Normal', 'CreatingPodDisruptionBudget', `Creating PodDisruptionBudget ${cluster}-primary`],
      ['Cluster', cluster, 'Normal', 'CreatingServiceAccount', `Creating ServiceAccount ${cluster}`],
      ['Job', `${cluster}-1-initdb`, 'Normal', 'Completed', 'Job completed'],
      ['Pod', `${cluster}-1`, 'Normal', 'Pulled', 'Container image "ghcr.io/cloudnative-pg/postgresql:18.1-system-trixie" already present on machine'],
      ['Pod', `${cluster}-2`, 'Normal', 'Started', 'Started container postgres'],
      ['Pod', `${cluster}-3`, 'Warning', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 500'],
      ['Cluster', cluster, 'Normal', 'SwitchoverCompleted', `Switchover completed, new primary ${cluster}-1`],
    ]
    for (const [index, [kind, object, type, reason, message]] of events.entries()) {
      const apiVersion = kind === 'Cluster' ? CNPG : kind === 'Job' ? 'batch/v1' : 'v1'
      const at = new Date(Date.now() - (events.length - index) * 60_000).toISOString().replace(/\.\d+Z$/, 'Z')
      const created = await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/events`, {apiVersion: 'v1', kind: 'Event', metadata: {name: `size-${index}`, namespace}, involvedObject: {apiVersion, kind, name: object, namespace}, reason, message, type, count: 1, firstTimestamp: at, lastTimestamp: at, source: {component: kind === 'Pod' ? 'kubelet' : 'cloudnative-pg'}})
      assert.equal(created.status, 201, created.text)
    }
    session = await connectStdio({kubeconfig: harness().kubeconfigFor('admin')})
  })
  after(() => session?.close())

  const calls: Array<[string, () => Record<string, unknown>]> = [
    ['list_postgres_clusters', () => ({namespace})],
    ['get_cluster_status', () => ({name: cluster, namespace})],
    ['get_cluster_resize_status', () => ({name: cluster, namespace})],
    ['list_backups', () => ({namespace})],
    ['get_backup', () => ({name: `${cluster}-20261127` + '0200', namespace})],
    ['list_scheduled_backups', () => ({namespace})],
    ['list_postgres_roles', () => ({cluster_name: cluster, namespace})],
    ['get_postgres_role_status', () => ({cluster_name: cluster, role_name: 'app_reader', namespace})],
    ['list_postgres_databases', () => ({cluster_name: cluster, namespace})],
    ['get_postgres_database_status', () => ({cluster_name: cluster, database_name: 'orders', namespace})],
    ['get_connection_info', () => ({cluster_name: cluster, namespace})],
    ['list_poolers', () => ({namespace})],
    ['get_pooler', () => ({name: `${cluster}-pooler-rw`, namespace})],
    ['list_publications', () => ({namespace})],
    ['get_publication', () => ({name: 'orders-pub', namespace})],
    ['list_subscriptions', () => ({namespace})],
    ['get_subscription', () => ({name: 'legacy-sub', namespace})],
    ['list_cluster_events', () => ({name: cluster, namespace})],
    ['get_cluster_logs', () => ({name: cluster, namespace})],
    ['get_cluster_upgrade_status', () => ({name: cluster, namespace})],
  ]

  for (const [tool, args] of calls) {
    test(`${tool}: the default text fits in ${DEFAULT_TEXT_LIMIT} characters`, async (t) => {
      const result = await callTool(session.client, tool, args())
      const text = textOf(result)
      assert.equal(result.isError, undefined, text)
      t.diagnostic(`${text.length} characters`)
      assert.ok(text.length <= DEFAULT_TEXT_LIMIT, `${tool} answered ${text.length} characters by default:\n${text}`)
    })
  }

  test('detail_level="detailed" still gives the full status', async () => {
    const concise = textOf(await callTool(session.client, 'get_cluster_status', {name: cluster, namespace}))
    const detailed = textOf(await callTool(session.client, 'get_cluster_status', {name: cluster, namespace, detail_level: 'detailed'}))
    assert.ok(detailed.length > concise.length)
    assert.match(detailed, /PostgreSQL Version: ghcr\.io\/cloudnative-pg\/postgresql/)
    assert.match(detailed, /Storage Size: 20Gi/)
  })
})

/** A running PgBouncer pod of a Pooler, as the operator's Deployment would make it. */
async function createPoolerPod(namespace: string, name: string, pooler: string): Promise<void> {
  await createObject({apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace, labels: {'cnpg.io/poolerName': pooler, 'cnpg.io/podRole': 'pooler'}}, spec: {containers: [{name: 'pgbouncer', image: 'ghcr.io/cloudnative-pg/pgbouncer:1.24.1'}]}}, {namespace})
  const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  const patched = await kubeRequest('admin', 'PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, {status: {phase: 'Running', containerStatuses: [{name: 'pgbouncer', ready: true, restartCount: 0, image: 'ghcr.io/cloudnative-pg/pgbouncer:1.24.1', imageID: '', state: {running: {startedAt: started}}}]}}, {contentType: 'application/merge-patch+json'})
  assert.equal(patched.status, 200, patched.text)
}
