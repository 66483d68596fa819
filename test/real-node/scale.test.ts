// Replication on the real operator through kmcp, checked in PostgreSQL: scale 1 -> 3 (replicas
// stream), switchover with promote_cluster_instance, rolling restart (primary last),
// delete_cluster_instance (a new instance takes its place), scale 3 -> 2 (the removed replica's
// PVC is deleted, as CNPG documents for scale-down).
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {textOf, type StdioSession} from '../support/mcp.ts'
import {appConnection, clusterPath, connectAdmin, createArgsForNode, deleteClusters, getJson, ok, podIp, pods, pvcs, realNodeUnavailable, skipWithoutNode, sleep, sqlEventually, sqlOk, timer, untilStatus, waitUntil, type PsqlTarget} from './helpers.ts'

const NS = 'e2e-scale'
const NAME = 'rep'

describe('replication on the real operator: scale, switchover, restart, recycle, scale down', () => {
  let admin: StdioSession | undefined
  let rw: PsqlTarget
  /** The app user's connection to one instance by pod IP (services route by role). */
  const onInstance = async (instance: string): Promise<PsqlTarget> => ({...rw, host: await podIp(NS, instance)})
  const replicaCount = () => sqlOk(NS, 'select count(*) from pg_stat_replication', rw)

  before(async () => {
    if ((await realNodeUnavailable()) === undefined) admin = await connectAdmin()
  })
  after(async () => {
    if (admin) await deleteClusters(NS)
    await admin?.close()
  })

  test('scale_postgres_cluster 1 -> 3: "3/3 ready", two replicas stream from the primary', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const creating = timer('create 1 instance until 1/1 ready (second cluster in parallel)')
    await ok(admin!, 'create_postgres_cluster', {...(await createArgsForNode(NAME, NS, 1)), wait: true, timeout: 240})
    await untilStatus(admin!, NS, NAME, /Instances: 1\/1 ready/)
    creating()
    rw = await appConnection(admin!, NS, NAME)
    await sqlEventually(NS, 'create table events (id int primary key, at text)', rw)
    await sqlOk(NS, "insert into events values (1, 'before scale')", rw)

    const scaling = timer('scale 1 -> 3 until 3/3 ready')
    const scaled = await ok(admin!, 'scale_postgres_cluster', {name: NAME, namespace: NS, instances: 3, wait: true, timeout: 300})
    assert.match(textOf(scaled), /scale up from 1 to 3 instances/)
    const status = await untilStatus(admin!, NS, NAME, /Instances: 3\/3 ready/)
    scaling()
    assert.match(status, /Status: Cluster in healthy state/)
    assert.match(status, /Current Primary: rep-1/)
    await waitUntil(async () => (await replicaCount()) === '2', 60_000, 'two walsenders on the primary')
    await sqlOk(NS, "insert into events values (2, 'after scale')", rw)
    for (const replica of ['rep-2', 'rep-3']) {
      const target = await onInstance(replica)
      assert.equal(await sqlEventually(NS, 'select pg_is_in_recovery()', target), 't')
      await waitUntil(async () => (await sqlOk(NS, 'select count(*) from events', target)) === '2', 30_000, `the second row to reach ${replica}`)
    }
  })

  test('promote_cluster_instance: the new primary takes writes through -rw, the old one follows in recovery', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const switching = timer('switchover until the new primary is healthy')
    const promoted = await ok(admin!, 'promote_cluster_instance', {name: NAME, namespace: NS, instance: 'rep-2'})
    assert.match(textOf(promoted), /Successfully requested switchover of cluster e2e-scale\/rep: rep-1 -> rep-2/)
    const status = await untilStatus(admin!, NS, NAME, /Current Primary: rep-2[\s\S]*/, 120_000)
    await untilStatus(admin!, NS, NAME, /Status: Cluster in healthy state[\s\S]*Instances: 3\/3 ready/)
    switching()
    assert.doesNotMatch(status, /Target Primary/)
    // The -rw service now routes to rep-2: a write succeeds there and it is not in recovery.
    await sqlEventually(NS, "insert into events values (3, 'after switchover')", rw)
    assert.equal(await sqlOk(NS, 'select pg_is_in_recovery()', rw), 'f')
    assert.equal(await sqlOk(NS, 'select inet_server_addr()::text', rw).then((a) => a.replace(/\/32$/, '')), await podIp(NS, 'rep-2'))
    const oldPrimary = await onInstance('rep-1')
    await waitUntil(async () => (await sqlEventually(NS, 'select pg_is_in_recovery()', oldPrimary)) === 't', 60_000, 'rep-1 to run as a replica')
    await waitUntil(async () => (await sqlOk(NS, 'select count(*) from events', oldPrimary)) === '3', 30_000, 'the old primary to replay the new write')
    await waitUntil(async () => (await replicaCount()) === '2', 60_000, 'both replicas streaming from rep-2')
  })

  test('restart_postgres_cluster: every instance restarts, the primary last', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const restarting = timer('rolling restart of 3 instances until healthy')
    const requested = textOf(await ok(admin!, 'restart_postgres_cluster', {name: NAME, namespace: NS, confirm: true}))
    assert.match(requested, /Successfully requested a rolling restart/)
    const stamp = (await getJson(clusterPath(NS, NAME))).metadata.annotations['kubectl.kubernetes.io/restartedAt']
    assert.ok(stamp, 'the cluster carries the restart annotation')
    // When each instance took the restart (its pod carries the cluster's restartedAt value).
    const doneAt = new Map<string, number>()
    await waitUntil(async () => {
      for (const pod of await pods(NS, NAME)) {
        if (pod.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'] === stamp && !doneAt.has(pod.metadata.name)) doneAt.set(pod.metadata.name, Date.now())
      }
      return doneAt.size === 3
    }, 240_000, 'every pod to carry the new restartedAt value')
    await untilStatus(admin!, NS, NAME, /Status: Cluster in healthy state[\s\S]*Instances: 3\/3 ready/)
    restarting()
    const primary = (await getJson(clusterPath(NS, NAME))).status.currentPrimary
    const primaryAt = doneAt.get(primary)!
    for (const [instance, at] of doneAt) if (instance !== primary) assert.ok(at <= primaryAt, `replica ${instance} restarted before the primary ${primary}`)
    // PostgreSQL itself restarted everywhere, and the data is intact.
    for (const instance of doneAt.keys()) {
      const started = await sqlEventually(NS, `select pg_postmaster_start_time() > timestamptz '${stamp}'`, await onInstance(instance))
      assert.equal(started, 't', `PostgreSQL on ${instance} started after the restart request`)
    }
    assert.equal(await sqlEventually(NS, 'select count(*) from events', rw), '3')
  })

  test('delete_cluster_instance: the replica and its volume go, the operator re-creates it (same name, new volume) from the primary', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const cluster = await getJson(clusterPath(NS, NAME))
    const victim = cluster.status.instanceNames.filter((i: string) => i !== cluster.status.currentPrimary).sort().pop()
    const oldPvc = (await pvcs(NS, NAME)).find((p) => p.metadata.name === victim)
    assert.ok(oldPvc, `PVC ${victim} exists`)
    const recycling = timer('delete_cluster_instance until 3/3 ready again')
    const deleted = textOf(await ok(admin!, 'delete_cluster_instance', {name: NAME, namespace: NS, instance: victim, confirm_deletion: true}))
    assert.match(deleted, new RegExp(`Deleted instance ${victim}`))
    await waitUntil(async () => !(await pvcs(NS, NAME)).some((p) => p.metadata.uid === oldPvc.metadata.uid), 120_000, `the old PVC of ${victim} to be deleted`)
    await sleep(2000)
    const status = await untilStatus(admin!, NS, NAME, /Status: Cluster in healthy state[\s\S]*Instances: 3\/3 ready/, 240_000)
    recycling()
    const names: string[] = (await getJson(clusterPath(NS, NAME))).status.instanceNames
    // CNPG 1.30 re-creates it under the lowest free instance number: the same name, a new volume.
    assert.deepEqual([...names].sort(), [...cluster.status.instanceNames].sort(), status)
    const newPvc = (await pvcs(NS, NAME)).find((p) => p.metadata.name === victim)
    assert.ok(newPvc && newPvc.metadata.uid !== oldPvc.metadata.uid, `${victim} has a new PVC`)
    assert.equal(await sqlEventually(NS, 'select count(*) from events', await onInstance(victim)), '3')
    await waitUntil(async () => (await replicaCount()) === '2', 60_000, 'two replicas streaming again')
  })

  test('scale_postgres_cluster 3 -> 2: the newest replica and its PVC are removed, the rest keep streaming', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const before = await getJson(clusterPath(NS, NAME))
    const primary = before.status.currentPrimary
    const serial = (n: string) => Number(n.split('-').pop())
    const newestReplica = before.status.instanceNames.filter((i: string) => i !== primary).sort((a: string, b: string) => serial(a) - serial(b)).pop()
    const scalingDown = timer('scale 3 -> 2 until 2/2 ready')
    const scaled = textOf(await ok(admin!, 'scale_postgres_cluster', {name: NAME, namespace: NS, instances: 2, confirm_scale_down: true, wait: true, timeout: 180}))
    assert.match(scaled, /scale down from 3 to 2 instances \(removes 1 replica\(s\) and their volumes, with their data\)/)
    await untilStatus(admin!, NS, NAME, /Status: Cluster in healthy state[\s\S]*Instances: 2\/2 ready/)
    await waitUntil(async () => !(await pvcs(NS, NAME)).some((p) => p.metadata.name === newestReplica), 60_000, `PVC ${newestReplica} to be deleted`)
    scalingDown()
    const after = await getJson(clusterPath(NS, NAME))
    assert.equal(after.status.currentPrimary, primary, 'the primary is never the one removed')
    assert.ok(!after.status.instanceNames.includes(newestReplica), `${newestReplica} was the one removed`)
    assert.equal((await pvcs(NS, NAME)).length, 2)
    await waitUntil(async () => (await replicaCount()) === '1', 60_000, 'one replica streaming')
  })
})
