// Pure logic of the diagnosis tools: which events belong to a cluster and how they fold, and the
// live status computed from the instance managers' /pg/status answers (shaped like CNPG's
// PostgresqlStatus JSON: currentLsn, isPrimary, timeLineID, replicationInfo, WAL archiving fields).
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {belongsToCluster, clusterOfName, foldEvents, renderClusterEvent, type CoreEvent} from '../../src/lib/tools/cnpg/cluster-events.ts'
import {attachReplication, fencedInstances, lsnToBytes, renderLiveStatus, statusScheme, summariseInstance, type PgStatus} from '../../src/lib/tools/cnpg/live-status.ts'
import type {ClusterPod} from '../../src/lib/tools/cnpg/cluster-pods.ts'
import type {CnpgCluster} from '../../src/lib/tools/cnpg/api.ts'

const event = (kind: string, name: string, reason: string, last: string, extra: Partial<CoreEvent> = {}): CoreEvent => ({
  metadata: {name: `${name}.${reason}.${last}`},
  involvedObject: {kind, name},
  reason,
  message: `${reason} of ${name}`,
  type: 'Normal',
  count: 1,
  firstTimestamp: last,
  lastTimestamp: last,
  ...extra,
})

describe('cluster events', () => {
  test('CNPG naming attributes objects to the longest matching cluster name', () => {
    const clusters = ['db', 'db-2', 'orders']
    assert.equal(clusterOfName('Pod', 'db-1', clusters), 'db')
    assert.equal(clusterOfName('Pod', 'db-2-1', clusters), 'db-2')
    assert.equal(clusterOfName('Pod', 'db-1-initdb-x7k2p', clusters), 'db')
    assert.equal(clusterOfName('Job', 'db-1-initdb', clusters), 'db')
    assert.equal(clusterOfName('PersistentVolumeClaim', 'db-3-wal', clusters), 'db')
    assert.equal(clusterOfName('Service', 'orders-rw', clusters), 'orders')
    assert.equal(clusterOfName('PodDisruptionBudget', 'orders-primary', clusters), 'orders')
    assert.equal(clusterOfName('PodDisruptionBudget', 'orders', clusters), 'orders')
    assert.equal(clusterOfName('Pod', 'orders-api-7f9c', clusters), undefined, 'an application pod is not an instance')
    assert.equal(clusterOfName('Secret', 'db-app', clusters), undefined)
  })

  test('membership: the cluster itself, live objects by UID or name, deleted ones by naming', () => {
    const owned = {uids: new Set(['uid-pod-1']), names: new Set(['Service/custom-svc'])}
    const cluster = {name: 'db', uid: 'uid-cluster'}
    const clusters = ['db', 'db-2']
    const belongs = (e: CoreEvent) => belongsToCluster(e, cluster, owned, clusters)
    assert.ok(belongs(event('Cluster', 'db', 'CreatingPodDisruptionBudget', '2026-12-01T10:00:00Z')))
    assert.ok(!belongs(event('Cluster', 'db-2', 'CreatingPodDisruptionBudget', '2026-12-01T10:00:00Z')))
    assert.ok(belongs(event('Pod', 'renamed', 'Started', '2026-12-01T10:00:00Z', {involvedObject: {kind: 'Pod', name: 'renamed', uid: 'uid-pod-1'}})))
    assert.ok(belongs(event('Service', 'custom-svc', 'Created', '2026-12-01T10:00:00Z')))
    assert.ok(belongs(event('Pod', 'db-3', 'Killing', '2026-12-01T10:00:00Z')), 'a deleted replica pod')
    assert.ok(!belongs(event('Pod', 'db-2-1', 'Started', '2026-12-01T10:00:00Z')), "the other cluster's pod")
  })

  test('folding: same object, type, reason and message become one entry with summed counts; newest first', () => {
    const folded = foldEvents([
      event('Pod', 'db-1', 'BackOff', '2026-12-01T10:05:00Z', {type: 'Warning', count: 3, firstTimestamp: '2026-12-01T10:01:00Z'}),
      event('Pod', 'db-1', 'BackOff', '2026-12-01T10:07:00Z', {type: 'Warning', count: 2, firstTimestamp: '2026-12-01T10:06:00Z'}),
      event('Pod', 'db-1', 'Pulled', '2026-12-01T10:00:00Z'),
      // events.k8s.io-style: no lastTimestamp, a series instead.
      event('Pod', 'db-2', 'Unhealthy', '', {type: 'Warning', lastTimestamp: null, firstTimestamp: null, eventTime: '2026-12-01T10:02:00.000000Z', series: {count: 7, lastObservedTime: '2026-12-01T10:06:30.000000Z'}}),
    ])
    assert.deepEqual(folded.map((e) => [e.object, e.reason, e.count]), [['Pod/db-1', 'BackOff', 5], ['Pod/db-2', 'Unhealthy', 7], ['Pod/db-1', 'Pulled', 1]])
    assert.equal(folded[0].first_seen, '2026-12-01T10:01:00.000Z')
    assert.equal(folded[0].last_seen, '2026-12-01T10:07:00.000Z')
    assert.equal(renderClusterEvent(folded[0]), '- 2026-12-01T10:07:00.000Z Warning BackOff Pod/db-1 (x5 since 2026-12-01T10:01:00.000Z): BackOff of db-1')
  })
})

const primaryStatus: PgStatus = {
  currentLsn: '0/7000060', isPrimary: true, timeLineID: 2, isArchivingWAL: true, lastArchivedWAL: '000000020000000000000006', lastArchivedWALTime: '2026-12-01T10:00:00Z', readyWalFiles: 0, instanceManagerVersion: '1.30.0',
  replicationInfo: [{applicationName: 'db-2', state: 'streaming', receivedLsn: '0/7000060', writeLsn: '0/7000060', flushLsn: '0/7000060', replayLsn: '0/6FFF000', writeLag: '00:00:00.000512', flushLag: '00:00:00.001024', replayLag: '00:00:00.002048', syncState: 'async'}],
}
const replicaStatus: PgStatus = {receivedLsn: '0/7000060', replayLsn: '0/6FFF000', isPrimary: false, timeLineID: 2, isWalReceiverActive: true}
const pod = (name: string, ready: boolean, command?: string[]): ClusterPod => ({metadata: {name}, spec: {nodeName: 'kmcp-node', containers: [{name: 'postgres', command}]}, status: {phase: 'Running', podIP: '10.0.0.2', containerStatuses: [{name: 'postgres', ready}]}})

describe('live instance status', () => {
  test('LSNs become byte positions', () => {
    assert.equal(lsnToBytes('0/7000060'), 0x7000060n)
    assert.equal(lsnToBytes('16/B374D848'), (0x16n << 32n) + 0xb374d848n)
    assert.equal(lsnToBytes('garbage'), undefined)
  })

  test('primary and replica rows; the replica gets the lag the primary sees, in bytes and times', () => {
    const rows = [summariseInstance('db-1', pod('db-1', true), primaryStatus, undefined, false), summariseInstance('db-2', pod('db-2', true), replicaStatus, undefined, false)]
    const notStreaming = attachReplication(rows, primaryStatus)
    assert.deepEqual(notStreaming, [])
    assert.equal(rows[0].role, 'primary')
    assert.equal(rows[0].current_lsn, '0/7000060')
    assert.equal(rows[0].timeline, 2)
    assert.equal(rows[0].wal_archiving?.last_archived_wal, '000000020000000000000006')
    assert.equal(rows[1].role, 'replica')
    assert.equal(rows[1].current_lsn, '0/6FFF000')
    assert.deepEqual(rows[1].replication, {state: 'streaming', sync_state: 'async', write_lag: '00:00:00.000512', flush_lag: '00:00:00.001024', replay_lag: '00:00:00.002048', lag_bytes: 0x1060})
    const text = renderLiveStatus({instances: rows, missing_instances: [], not_streaming: []}).join('\n')
    assert.match(text, /db-1: primary, ready, timeline 2, current LSN 0\/7000060, WAL archiving ok \(last 000000020000000000000006/)
    assert.match(text, /db-2: replica, ready, timeline 2, replayed LSN 0\/6FFF000, replication streaming \(async\), lag 4192 bytes \(write 00:00:00.000512/)
  })

  test('a replica the primary does not see is "not streaming"; an unreachable instance says why; fencing is shown', () => {
    const rows = [
      summariseInstance('db-1', pod('db-1', true), {...primaryStatus, replicationInfo: []}, undefined, false),
      summariseInstance('db-2', pod('db-2', false), {...replicaStatus, isWalReceiverActive: false}, undefined, true),
      summariseInstance('db-3', pod('db-3', false), undefined, 'pod is Pending and has no IP yet', false),
    ]
    assert.deepEqual(attachReplication(rows, {...primaryStatus, replicationInfo: []}), ['db-2', 'db-3'])
    const text = renderLiveStatus({instances: rows, missing_instances: ['db-4'], not_streaming: ['db-2', 'db-3']}).join('\n')
    assert.match(text, /db-2: replica, NOT ready.*FENCED/)
    assert.match(text, /db-3: pod is Pending and has no IP yet/)
    assert.match(text, /Missing instances: db-4/)
    assert.match(text, /Not streaming from the primary: db-2, db-3/)
  })

  test('failing WAL archiving is called out', () => {
    const row = summariseInstance('db-1', pod('db-1', true), {...primaryStatus, lastFailedWAL: '000000020000000000000007', lastFailedWALTime: '2026-12-01T10:05:00Z', readyWalFiles: 3}, undefined, false)
    assert.match(renderLiveStatus({instances: [row], missing_instances: [], not_streaming: []}).join('\n'), /WAL archiving FAILING \(last failed 000000020000000000000007 at 2026-12-01T10:05:00Z\), 3 WAL file\(s\) waiting/)
  })

  test('fenced instances come from the cnpg.io/fencedInstances annotation; "*" fences all', () => {
    const cluster = (value?: string): CnpgCluster => ({metadata: {name: 'db', annotations: value ? {'cnpg.io/fencedInstances': value} : {}}, spec: {}})
    assert.deepEqual([...fencedInstances(cluster('["db-2"]')).names], ['db-2'])
    assert.equal(fencedInstances(cluster('["*"]')).all, true)
    assert.equal(fencedInstances(cluster()).names.size, 0)
    assert.equal(fencedInstances(cluster('not json')).names.size, 0)
  })

  test('the status endpoint is HTTPS when the instance manager runs with --status-port-tls', () => {
    assert.equal(statusScheme(pod('db-1', true, ['/controller/manager', 'instance', 'run', '--status-port-tls', '--log-level=info'])), 'https')
    assert.equal(statusScheme(pod('db-1', true, ['/controller/manager', 'instance', 'run'])), 'http')
  })
})
