// Backup, scheduled backup and restore tools through a real MCP client and a real API server; the
// operator's part (backup phases, cluster health) is played by writing .status.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {bindRole, createNamespace, createObject, harness, kubeRequest, waitFor} from '../support/kube.ts'
import {healthyClusterStatus, makeHealthyCluster, setBackupStatus, setClusterStatus} from '../support/operator.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {VIEW_ROLE, bindCnpgRoles, cnpg, fails, getJson, installWebhookStandIn, ok, untilAdmission, waitForCnpgStorage, yamlBlock} from './helpers.ts'

const STORE = {destinationPath: 's3://backups/src', endpointURL: 'https://minio.example:9000', s3Credentials: {accessKeyId: {name: 'minio', key: 'id'}, secretAccessKey: {name: 'minio', key: 'secret'}}}


describe('backup, schedule and restore tools against the real API server', () => {
  let ns: string
  let admin: StdioSession
  let alice: StdioSession
  const backup = (spec: Record<string, unknown>, name: string) => createObject({apiVersion: 'postgresql.cnpg.io/v1', kind: 'Backup', metadata: {name, namespace: ns}, spec})

  before(async () => {
    ns = await createNamespace('ct-backup')
    await waitForCnpgStorage(ns)
    await makeHealthyCluster(ns, 'src', {instances: 2, storageSize: '5Gi', imageName: 'ghcr.io/cloudnative-pg/postgresql:17.2', spec: {backup: {barmanObjectStore: STORE}, postgresql: {parameters: {max_connections: '300'}}}})
    await makeHealthyCluster(ns, 'bare', {instances: 1})
    ;[admin, alice] = await Promise.all([connectStdio({kubeconfig: harness().kubeconfigFor('admin')}), connectStdio({kubeconfig: harness().kubeconfigFor('alice')})])
  })

  after(async () => {
    await Promise.all([admin?.close(), alice?.close()])
  })

  test('create_backup: dry run stores nothing; real run creates the Backup; 409; method checks before any write', async () => {
    const dry = await ok(admin, 'create_backup', {cluster: 'src', namespace: ns, dry_run: true})
    const preview = yamlBlock(textOf(dry))
    assert.equal(preview.kind, 'Backup')
    assert.match(preview.metadata.name, /^src-\d{12}$/)
    assert.deepEqual(preview.spec, {cluster: {name: 'src'}, method: 'barmanObjectStore'})
    assert.equal((await getJson(cnpg(ns, 'backups'))).items.length, 0)
    await ok(admin, 'create_backup', {cluster: 'src', namespace: ns, name: 'manual-1', target: 'primary'})
    const stored = await getJson(cnpg(ns, 'backups', 'manual-1'))
    assert.deepEqual(stored.spec, {cluster: {name: 'src'}, method: 'barmanObjectStore', target: 'primary'})
    await fails(admin, 'create_backup', {cluster: 'src', namespace: ns, name: 'manual-1'}, /409 AlreadyExists/)
    await fails(admin, 'create_backup', {cluster: 'bare', namespace: ns, name: 'nope'}, /no object store configured \(spec\.backup\.barmanObjectStore\)/)
    await fails(admin, 'create_backup', {cluster: 'src', namespace: ns, name: 'nope', method: 'volumeSnapshot'}, /no volume snapshot configuration/)
    await fails(admin, 'create_backup', {cluster: 'src', namespace: ns, name: 'nope', method: 'plugin'}, /method="plugin" needs plugin_name/)
    await fails(admin, 'create_backup', {cluster: 'src', namespace: ns, name: 'nope', plugin_name: 'barman-cloud.cloudnative-pg.io'}, /only apply to method="plugin"/)
    await fails(admin, 'create_backup', {cluster: 'ghost', namespace: ns}, /404 NotFound/)
    assert.equal(await getJson(cnpg(ns, 'backups', 'nope')), undefined)
    await ok(admin, 'create_backup', {cluster: 'bare', namespace: ns, name: 'via-plugin', method: 'plugin', plugin_name: 'barman-cloud.cloudnative-pg.io', plugin_parameters: {barmanObjectName: 'store'}})
    assert.deepEqual((await getJson(cnpg(ns, 'backups', 'via-plugin'))).spec.pluginConfiguration, {name: 'barman-cloud.cloudnative-pg.io', parameters: {barmanObjectName: 'store'}})
  })

  test('422 from an admission policy on backups is reported with its rule; nothing stored', async () => {
    const remove = await installWebhookStandIn(ns, 'plugins', [{expression: "!has(object.spec.pluginConfiguration) || object.spec.pluginConfiguration.name == 'barman-cloud.cloudnative-pg.io'", message: 'spec.pluginConfiguration.name: only the barman-cloud plugin is allowed'}], ['odd-plugin', 'probe'], 'backups')
    try {
      await untilAdmission(() => kubeRequest('admin', 'POST', cnpg(ns, 'backups'), {apiVersion: 'postgresql.cnpg.io/v1', kind: 'Backup', metadata: {name: 'probe'}, spec: {cluster: {name: 'bare'}, method: 'plugin', pluginConfiguration: {name: 'x.example'}}}, {dryRun: true}), 'denied', 'only the barman-cloud plugin')
      await fails(admin, 'create_backup', {cluster: 'bare', namespace: ns, name: 'odd-plugin', method: 'plugin', plugin_name: 'other.example.com'}, /422 Invalid[\s\S]*only the barman-cloud plugin is allowed/)
      assert.equal(await getJson(cnpg(ns, 'backups', 'odd-plugin')), undefined)
    } finally {
      await remove()
    }
  })

  test('list_backups: phases, times and errors as the operator reports them; filter and pages', async () => {
    await backup({cluster: {name: 'src'}}, 'done-1')
    await setBackupStatus(ns, 'done-1', {phase: 'completed', startedAt: '2026-11-24T02:00:00Z', stoppedAt: '2026-11-24T02:10:00Z', backupId: '20261124T020000'})
    // CNPG's own webhook (on the real node) refuses volumeSnapshot where the VolumeSnapshot CRD is
    // missing; this plays a Backup stored before, so it is written with validation off.
    await createObject({apiVersion: 'postgresql.cnpg.io/v1', kind: 'Backup', metadata: {name: 'broken-1', namespace: ns, annotations: {'cnpg.io/validation': 'disabled'}}, spec: {cluster: {name: 'bare'}, method: 'volumeSnapshot'}})
    await setBackupStatus(ns, 'broken-1', {phase: 'failed', error: 'no VolumeSnapshotClass found'})
    const all = await ok(admin, 'list_backups', {namespace: ns})
    const text = textOf(all)
    assert.match(text, /done-1 \(cluster src, barmanObjectStore\): completed, started 2026-11-24T02:00:00Z, stopped 2026-11-24T02:10:00Z/)
    assert.match(text, /broken-1 \(cluster bare, volumeSnapshot\): failed\n  error: no VolumeSnapshotClass found/)
    assert.match(text, /manual-1 .*: new/)
    const onlySrc = (await ok(admin, 'list_backups', {namespace: ns, cluster: 'src', format: 'json'})).structuredContent as {backups: Array<{name: string; cluster: string}>}
    assert.ok(onlySrc.backups.length >= 2 && onlySrc.backups.every((b) => b.cluster === 'src'))
    const page = (await ok(admin, 'list_backups', {namespace: ns, limit: 1})).structuredContent as {backups: unknown[]; continue?: string}
    assert.equal(page.backups.length, 1)
    assert.ok(page.continue)
    await setClusterStatus(ns, 'src', {lastSuccessfulBackup: '2026-11-24T02:10:00Z', firstRecoverabilityPoint: '2026-11-20T02:10:00Z'})
    assert.match(textOf(await ok(admin, 'get_cluster_status', {name: 'src', namespace: ns, detail_level: 'detailed'})), /Backups: last successful 2026-11-24T02:10:00Z; restorable from 2026-11-20T02:10:00Z/)
    const next = (await ok(admin, 'list_backups', {namespace: ns, limit: 1, continue: page.continue})).structuredContent as {backups: unknown[]}
    assert.equal(next.backups.length, 1)
    const everywhere = (await ok(admin, 'list_backups', {all_namespaces: true, cluster: 'src'})).structuredContent as {scope: string; backups: Array<{name: string; namespace: string}>}
    assert.equal(everywhere.scope, 'all namespaces, cluster src')
    assert.ok(everywhere.backups.some((b) => b.name === 'done-1' && b.namespace === ns))
  })

  test('get_backup: the full status the operator wrote, as text and structured content', async () => {
    // spec.online is for volumeSnapshot only (CNPG refuses it otherwise); the mode comes from status.online.
    await backup({cluster: {name: 'src'}, method: 'barmanObjectStore', target: 'prefer-standby'}, 'full-1')
    await setBackupStatus(ns, 'full-1', {
      phase: 'completed', method: 'barmanObjectStore', online: true, startedAt: '2026-11-24T03:00:00Z', stoppedAt: '2026-11-24T03:04:00Z',
      backupId: '20261124T030000', backupName: 'backup-20261124030000', destinationPath: 's3://backups/src', serverName: 'src',
      beginWal: '000000010000000000000004', endWal: '000000010000000000000005', beginLSN: '0/4000028', endLSN: '0/5000100',
      instanceID: {podName: 'src-2'}, majorVersion: 17,
    })
    const result = await ok(admin, 'get_backup', {name: 'full-1', namespace: ns})
    const text = textOf(result)
    assert.match(text, /full-1 \(cluster src, barmanObjectStore\): completed, started 2026-11-24T03:00:00Z, stopped 2026-11-24T03:04:00Z/)
    for (const line of ['mode: online (hot)', 'target: prefer-standby', 'backup id: 20261124T030000', 'destination: s3://backups/src', 'server name: src', 'WAL: 000000010000000000000004 .. 000000010000000000000005', 'LSN: 0/4000028 .. 0/5000100', 'taken from: src-2']) {
      assert.ok(text.includes(line), `"${line}" in:\n${text}`)
    }
    assert.match(text, /restore_postgres_cluster\(.*"backup_name": "full-1"/)
    assert.deepEqual(result.structuredContent, {
      name: 'full-1', namespace: ns, cluster: 'src', method: 'barmanObjectStore', phase: 'completed', started_at: '2026-11-24T03:00:00Z', stopped_at: '2026-11-24T03:04:00Z',
      backup_id: '20261124T030000', destination_path: 's3://backups/src', created: (await getJson(cnpg(ns, 'backups', 'full-1'))).metadata.creationTimestamp,
      online: true, target: 'prefer-standby', server_name: 'src', barman_backup_name: 'backup-20261124030000', begin_wal: '000000010000000000000004', end_wal: '000000010000000000000005',
      begin_lsn: '0/4000028', end_lsn: '0/5000100', taken_from: 'src-2', postgres_major_version: 17,
    })

    await backup({cluster: {name: 'bare'}, method: 'plugin', pluginConfiguration: {name: 'barman-cloud.cloudnative-pg.io'}}, 'plugin-failed')
    await setBackupStatus(ns, 'plugin-failed', {phase: 'failed', error: 'exit status 1', commandError: 'ERROR: WAL archive check failed\n' + 'x'.repeat(3000)})
    const failed = await ok(admin, 'get_backup', {name: 'plugin-failed', namespace: ns, format: 'json'})
    const structured = failed.structuredContent as {phase: string; plugin: string; error: string; command_error: string}
    assert.deepEqual({phase: structured.phase, plugin: structured.plugin, error: structured.error}, {phase: 'failed', plugin: 'barman-cloud.cloudnative-pg.io', error: 'exit status 1'})
    assert.ok(structured.command_error.startsWith('ERROR: WAL archive check failed') && structured.command_error.length <= 2001, 'the command output is kept short')
    assert.match(textOf(await ok(admin, 'get_backup', {name: 'plugin-failed', namespace: ns})), /failed[\s\S]*error: exit status 1[\s\S]*plugin: barman-cloud\.cloudnative-pg\.io[\s\S]*command output:\n    ERROR: WAL archive check failed/)
    assert.match(textOf(await ok(admin, 'get_backup', {name: 'manual-1', namespace: ns})), /manual-1 \(cluster src, barmanObjectStore\): new/)
  })

  test('get_backup: 404 says how to find the name; an invalid name is refused before any request', async () => {
    const missing = await fails(admin, 'get_backup', {name: 'ghost', namespace: ns}, /404 NotFound[\s\S]*What to do:/)
    assert.ok(missing.includes(`list_backups({"namespace": "${ns}"})`), missing)
    const invalid = await fails(admin, 'get_backup', {name: 'Nightly_Backup', namespace: ns}, /name "Nightly_Backup" is not a valid Kubernetes name/)
    assert.doesNotMatch(invalid, /Kubernetes API error/)
  })

  test('get_backup: 403 for a user without rights; success once bound to the view role', async () => {
    const viewNs = await createNamespace('ct-backup-view')
    await waitForCnpgStorage(viewNs, ['backups'])
    await createObject({apiVersion: 'postgresql.cnpg.io/v1', kind: 'Backup', metadata: {name: 'seen', namespace: viewNs}, spec: {cluster: {name: 'elsewhere'}}})
    await fails(alice, 'get_backup', {name: 'seen', namespace: viewNs}, /403 Forbidden[\s\S]*cnpg-cloudnative-pg-view/)
    await bindRole(viewNs, 'alice', VIEW_ROLE)
    await waitFor(async () => (await callTool(alice.client, 'get_backup', {name: 'seen', namespace: viewNs})).isError !== true, {message: 'the binding took effect'})
    assert.match(textOf(await ok(alice, 'get_backup', {name: 'seen', namespace: viewNs})), /seen \(cluster elsewhere, barmanObjectStore\): new/)
  })

  test('scheduled backups: cron with seconds enforced, create, 409, list, delete with confirmation only when it owns backups', async () => {
    await fails(admin, 'create_scheduled_backup', {name: 'nightly', cluster: 'src', namespace: ns, schedule: '0 2 * * *'}, /5 fields[\s\S]*Did you mean "0 0 2 \* \* \*"/)
    assert.equal(await getJson(cnpg(ns, 'scheduledbackups', 'nightly')), undefined)
    const dry = await ok(admin, 'create_scheduled_backup', {name: 'nightly', cluster: 'src', namespace: ns, schedule: '0 0 2 * * *', dry_run: true})
    assert.equal(yamlBlock(textOf(dry)).spec.schedule, '0 0 2 * * *')
    assert.equal(await getJson(cnpg(ns, 'scheduledbackups', 'nightly')), undefined)
    await ok(admin, 'create_scheduled_backup', {name: 'nightly', cluster: 'src', namespace: ns, schedule: '0 0 2 * * *', immediate: true})
    await ok(admin, 'create_scheduled_backup', {name: 'hourly', cluster: 'src', namespace: ns, schedule: '@hourly', backup_owner_reference: 'self', suspend: true})
    const stored = await getJson(cnpg(ns, 'scheduledbackups', 'nightly'))
    assert.deepEqual({schedule: stored.spec.schedule, immediate: stored.spec.immediate, cluster: stored.spec.cluster.name}, {schedule: '0 0 2 * * *', immediate: true, cluster: 'src'})
    await fails(admin, 'create_scheduled_backup', {name: 'nightly', cluster: 'src', namespace: ns, schedule: '0 0 3 * * *'}, /409 AlreadyExists/)
    await fails(admin, 'create_scheduled_backup', {name: 'other', cluster: 'ghost', namespace: ns, schedule: '@daily'}, /404 NotFound/)
    await kubeRequest('admin', 'PATCH', `${cnpg(ns, 'scheduledbackups', 'nightly')}/status`, {status: {lastScheduleTime: '2026-11-24T02:00:00Z', nextScheduleTime: '2026-11-25T02:00:00Z'}})
    const list = textOf(await ok(admin, 'list_scheduled_backups', {namespace: ns}))
    assert.match(list, /nightly \(cluster src, barmanObjectStore\): "0 0 2 \* \* \*"; last 2026-11-24T02:00:00Z, next 2026-11-25T02:00:00Z/)
    assert.match(list, /hourly .*"@hourly" SUSPENDED/)

    await ok(admin, 'delete_scheduled_backup', {name: 'nightly', namespace: ns, dry_run: true})
    assert.ok(await getJson(cnpg(ns, 'scheduledbackups', 'nightly')), 'a dry-run delete keeps it')
    assert.match(textOf(await ok(admin, 'delete_scheduled_backup', {name: 'nightly', namespace: ns})), /Successfully deleted[\s\S]*kept/)
    assert.equal(await getJson(cnpg(ns, 'scheduledbackups', 'nightly')), undefined)
    assert.match(textOf(await ok(admin, 'delete_scheduled_backup', {name: 'hourly', namespace: ns})), /DELETION NOT CONFIRMED[\s\S]*Kubernetes deletes them too/)
    assert.ok(await getJson(cnpg(ns, 'scheduledbackups', 'hourly')))
    await ok(admin, 'delete_scheduled_backup', {name: 'hourly', namespace: ns, confirm_deletion: true})
    assert.equal(await getJson(cnpg(ns, 'scheduledbackups', 'hourly')), undefined)
    await fails(admin, 'delete_scheduled_backup', {name: 'hourly', namespace: ns}, /404 NotFound/)
  })

  test('restore: refusals before any write (source, targets, backup phase, time before the backup)', async () => {
    await fails(admin, 'restore_postgres_cluster', {name: 'r0', namespace: ns}, /exactly one of backup_name/)
    await fails(admin, 'restore_postgres_cluster', {name: 'r0', namespace: ns, backup_name: 'done-1', source_cluster: 'src'}, /exactly one of backup_name/)
    await fails(admin, 'restore_postgres_cluster', {name: 'r0', namespace: ns, backup_name: 'done-1', target_lsn: '0/3000060', target_xid: '12'}, /at most one recovery target; got target_lsn, target_xid/)
    await fails(admin, 'restore_postgres_cluster', {name: 'r0', namespace: ns, backup_name: 'done-1', exclusive: true}, /exclusive only applies/)
    await fails(admin, 'restore_postgres_cluster', {name: 'src', namespace: ns, source_cluster: 'src'}, /source cluster, which kmcp never replaces/)
    await fails(admin, 'restore_postgres_cluster', {name: 'src', namespace: ns, backup_name: 'done-1', confirm_replace: true}, /belongs to cluster "src"[\s\S]*never replaces the source/)
    await fails(admin, 'restore_postgres_cluster', {name: 'r0', namespace: ns, backup_name: 'broken-1'}, /is "failed", not "completed"[\s\S]*no VolumeSnapshotClass/)
    await fails(admin, 'restore_postgres_cluster', {name: 'r0', namespace: ns, backup_name: 'done-1', target_time: '2026-11-24T01:00:00Z'}, /before backup done-1 finished/)
    await fails(admin, 'restore_postgres_cluster', {name: 'r0', namespace: ns, source_cluster: 'bare'}, /no object store/)
    await fails(admin, 'restore_postgres_cluster', {name: 'r0', namespace: ns, backup_name: 'ghost'}, /404 NotFound/)
    await fails(admin, 'restore_postgres_cluster', {name: 'r0', namespace: ns, backup_name: 'done-1', target_time: '2026-11-24 09:00'}, /target_time "2026-11-24 09:00" is not an RFC 3339 date-time/)
    assert.equal(await getJson(cnpg(ns, 'clusters', 'r0')), undefined)
  })

  test('restore from a Backup to a point in time: dry run shows the recovery, then the cluster is created', async () => {
    const args = {name: 'pitr', namespace: ns, backup_name: 'done-1', target_time: '2026-11-24T09:30:00Z', exclusive: true, instances: 2}
    const dry = await ok(admin, 'restore_postgres_cluster', {...args, dry_run: true})
    const manifest = yamlBlock(textOf(dry))
    assert.deepEqual(manifest.spec.bootstrap.recovery, {backup: {name: 'done-1'}, recoveryTarget: {targetTime: '2026-11-24T09:30:00Z', exclusive: true}, database: 'app', owner: 'app'})
    assert.equal(manifest.spec.imageName, 'ghcr.io/cloudnative-pg/postgresql:17.2')
    assert.equal(manifest.spec.storage.size, '5Gi')
    assert.equal(manifest.spec.postgresql.parameters.max_connections, '300')
    assert.equal(manifest.spec.backup, undefined, 'the restored cluster never writes to the source archive')
    assert.equal(await getJson(cnpg(ns, 'clusters', 'pitr')), undefined)
    await ok(admin, 'restore_postgres_cluster', args)
    const stored = await getJson(cnpg(ns, 'clusters', 'pitr'))
    assert.equal(stored.spec.bootstrap.recovery.recoveryTarget.targetTime, '2026-11-24T09:30:00Z')
    assert.equal(stored.spec.instances, 2)
  })

  test('restore refused by the API server (a webhook rule played by a policy): 422 with the rule, nothing created', async () => {
    const rule = 'spec.instances: a cluster restored from a backup starts with at most 2 instances'
    const remove = await installWebhookStandIn(ns, 'restore-size', [{expression: '!has(object.spec.bootstrap) || !has(object.spec.bootstrap.recovery) || object.spec.instances <= 2', message: rule}], ['restored-big'], 'clusters', {operations: ['CREATE']})
    try {
      const probe = {apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: {name: 'restored-big'}, spec: {instances: 3, storage: {size: '1Gi'}, bootstrap: {recovery: {backup: {name: 'done-1'}}}}}
      await untilAdmission(() => kubeRequest('admin', 'POST', cnpg(ns, 'clusters'), probe, {dryRun: true}), 'denied', rule)
      for (const dry_run of [true, false]) {
        await fails(admin, 'restore_postgres_cluster', {name: 'restored-big', namespace: ns, backup_name: 'done-1', instances: 3, dry_run}, /422 Invalid[\s\S]*restored from a backup starts with at most 2 instances[\s\S]*What to do: The API server rejected/)
      }
      assert.equal(await getJson(cnpg(ns, 'clusters', 'restored-big')), undefined)
    } finally {
      await remove()
    }
  })

  test('restore from the source cluster\'s object store, waiting with progress until healthy', async () => {
    const progress: string[] = []
    const pending = admin.client.callTool({name: 'restore_postgres_cluster', arguments: {name: 'from-store', namespace: ns, source_cluster: 'src', target_lsn: '0/3000060', wait: true, timeout: 60}}, undefined, {onprogress: (p) => progress.push(p.message ?? ''), timeout: 90_000})
    await waitFor(async () => Boolean(await getJson(cnpg(ns, 'clusters', 'from-store'))), {message: 'the restored cluster was created'})
    const stored = await getJson(cnpg(ns, 'clusters', 'from-store'))
    assert.deepEqual(stored.spec.bootstrap.recovery, {source: 'src', recoveryTarget: {targetLSN: '0/3000060'}, database: 'app', owner: 'app'})
    assert.deepEqual(stored.spec.externalClusters, [{name: 'src', barmanObjectStore: {...STORE, serverName: 'src'}}])
    await setClusterStatus(ns, 'from-store', {phase: 'Setting up primary', readyInstances: 0})
    await setClusterStatus(ns, 'from-store', healthyClusterStatus('from-store', {instances: 1}))
    const result = (await pending) as {content: Array<{text?: string}>; isError?: boolean}
    assert.notEqual(result.isError, true)
    assert.match(result.content.map((c) => c.text ?? '').join('\n'), /reached the desired state[\s\S]*1\/1 ready/)
    assert.ok(progress.length > 0, 'progress notifications were sent')
  })

  test('restore over an existing name: refused without confirmation, replaced with it', async () => {
    await makeHealthyCluster(ns, 'old-name', {instances: 1})
    const before = await getJson(cnpg(ns, 'clusters', 'old-name'))
    const refused = await ok(admin, 'restore_postgres_cluster', {name: 'old-name', namespace: ns, backup_name: 'done-1'})
    assert.match(textOf(refused), /REPLACEMENT NOT CONFIRMED[\s\S]*DELETES the existing cluster[\s\S]*confirm_replace=true/)
    await ok(admin, 'restore_postgres_cluster', {name: 'old-name', namespace: ns, backup_name: 'done-1', dry_run: true})
    assert.equal((await getJson(cnpg(ns, 'clusters', 'old-name'))).metadata.uid, before.metadata.uid)
    const replaced = await ok(admin, 'restore_postgres_cluster', {name: 'old-name', namespace: ns, backup_name: 'done-1', confirm_replace: true})
    assert.match(textOf(replaced), /previous cluster with that name was deleted/)
    const after = await getJson(cnpg(ns, 'clusters', 'old-name'))
    assert.notEqual(after.metadata.uid, before.metadata.uid)
    assert.equal(after.spec.bootstrap.recovery.backup.name, 'done-1')
  })

  test('403 for a user without rights on every backup tool; success once bound', async () => {
    const aliceNs = await createNamespace('ct-backup-alice')
    await makeHealthyCluster(aliceNs, 'theirs', {instances: 1, spec: {backup: {barmanObjectStore: STORE}}})
    for (const [tool, args] of [
      ['list_backups', {}],
      ['create_backup', {cluster: 'theirs'}],
      ['list_scheduled_backups', {}],
      ['create_scheduled_backup', {name: 's', cluster: 'theirs', schedule: '@daily'}],
      ['delete_scheduled_backup', {name: 's'}],
      ['restore_postgres_cluster', {name: 'copy', source_cluster: 'theirs'}],
    ] as Array<[string, Record<string, unknown>]>) {
      await fails(alice, tool, {namespace: aliceNs, ...args}, /403 Forbidden/)
    }
    await bindCnpgRoles(aliceNs, 'alice')
    await waitFor(async () => (await callTool(alice.client, 'list_backups', {namespace: aliceNs})).isError !== true, {message: 'the binding took effect'})
    await ok(alice, 'create_backup', {cluster: 'theirs', namespace: aliceNs, name: 'b'})
    await ok(alice, 'create_scheduled_backup', {name: 's', cluster: 'theirs', namespace: aliceNs, schedule: '@daily'})
    assert.match(textOf(await ok(alice, 'list_scheduled_backups', {namespace: aliceNs})), /s \(cluster theirs/)
    await ok(alice, 'delete_scheduled_backup', {name: 's', namespace: aliceNs})
    await ok(alice, 'restore_postgres_cluster', {name: 'copy', namespace: aliceNs, source_cluster: 'theirs'})
    assert.ok(await getJson(cnpg(aliceNs, 'clusters', 'copy')))
  })
})
