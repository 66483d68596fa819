// Responses sized for agents: on a typical cluster the default text of every list and status tool
// fits in 2,000 characters (the 25,000-character budget stays the ceiling); detail_level or
// format=json give more. "Typical": 3 instances with their Pods and PVCs, a week of daily
// backups, a schedule, three roles and two databases, with the status the operator would write.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createNamespace, createObject} from '../support/kube.ts'
import {makeHealthyCluster, setBackupStatus, setDatabaseRoleStatus, setDatabaseStatus, setScheduledBackupStatus} from '../support/operator.ts'
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
