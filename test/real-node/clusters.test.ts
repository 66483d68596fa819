// One cluster's life on the real operator, each step through kmcp and checked in PostgreSQL:
// create (1/1 ready), hibernate and resume (data survives), storage resize (refused clearly: the
// node's storage class cannot expand volumes), delete.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {textOf, type StdioSession} from '../support/mcp.ts'
import {appConnection, clusterPath, connectAdmin, createArgsForNode, deleteClusters, getJson, nodeInfo, ok, pods, pvcs, realNodeUnavailable, skipWithoutNode, sqlEventually, sqlOk, timer, untilStatus, waitUntil, type PsqlTarget} from './helpers.ts'

const NS = 'e2e-clusters'
const NAME = 'life'

describe('a cluster on the real operator: create, hibernate, resume, resize, delete', () => {
  let admin: StdioSession | undefined
  let rw: PsqlTarget

  before(async () => {
    if ((await realNodeUnavailable()) === undefined) admin = await connectAdmin()
  })
  after(async () => {
    if (admin) await deleteClusters(NS)
    await admin?.close()
  })

  test('create_postgres_cluster: healthy, "1/1 ready", and PostgreSQL answers on the -rw service', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const took = timer('create 1 instance until 1/1 ready')
    const created = await ok(admin!, 'create_postgres_cluster', {...(await createArgsForNode(NAME, NS, 1)), wait: true, timeout: 240})
    assert.match(textOf(created), /Successfully created PostgreSQL cluster e2e-clusters\/life/)
    assert.match(textOf(created), /ready/)
    const status = await untilStatus(admin!, NS, NAME, /Instances: 1\/1 ready/)
    took()
    assert.match(status, /Status: Cluster in healthy state/)
    assert.match(status, /Current Primary: life-1/)
    rw = await appConnection(admin!, NS, NAME)
    assert.equal(await sqlEventually(NS, 'select current_user', rw), 'app')
    await sqlOk(NS, 'create table notes (id int primary key, body text); insert into notes values (1, $$kept through hibernation$$)', rw)
    assert.equal(await sqlOk(NS, 'select pg_is_in_recovery()', rw), 'f')
  })

  test('hibernate_postgres_cluster stops every pod and keeps the volume; resume brings the data back', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const hibernating = timer('hibernate until no pod is left')
    assert.match(textOf(await ok(admin!, 'hibernate_postgres_cluster', {name: NAME, namespace: NS, confirm: true})), /Successfully requested hibernation/)
    await waitUntil(async () => (await pods(NS, NAME)).length === 0, 120_000, 'the instance pods to go away')
    const hibernated = await untilStatus(admin!, NS, NAME, /Hibernated: yes/)
    hibernating()
    assert.match(hibernated, /Instances: 0\/1 ready/)
    assert.match(hibernated, /cnpg\.io\/hibernation.*True/i, 'the operator reports the hibernation condition')
    assert.equal((await pvcs(NS, NAME)).length, 1, 'the data volume is kept while hibernated')

    const resuming = timer('resume until 1/1 ready')
    assert.match(textOf(await ok(admin!, 'resume_postgres_cluster', {name: NAME, namespace: NS})), /Successfully requested resumption/)
    const resumed = await untilStatus(admin!, NS, NAME, /Instances: 1\/1 ready/)
    resuming()
    assert.doesNotMatch(resumed, /Hibernated: yes/)
    assert.equal(await sqlEventually(NS, 'select body from notes where id = 1', rw), 'kept through hibernation')
  })

  test('resize_postgres_cluster: growing on a storage class that cannot expand is refused before anything changes', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const {storageClass} = await nodeInfo()
    const before = await getJson(clusterPath(NS, NAME))
    const refused = await admin!.client.callTool({name: 'resize_postgres_cluster', arguments: {name: NAME, namespace: NS, storage_size: '2Gi'}})
    assert.equal(refused.isError, true, textOf(refused as never))
    const text = textOf(refused as never)
    assert.match(text, new RegExp(`StorageClass "${storageClass}" does not allow volume expansion`))
    assert.match(text, /No change made/)
    const after = await getJson(clusterPath(NS, NAME))
    assert.equal(after.spec.storage.size, before.spec.storage.size)
    assert.equal(after.metadata.generation, before.metadata.generation)
    // Shrinking is refused by CNPG's own webhook unless validation is disabled; kmcp's shrink is a
    // workflow covered by the simulated suite. Here: the size the volume really has is unchanged.
    const [volume] = await pvcs(NS, NAME)
    assert.equal(volume.spec.resources.requests.storage, before.spec.storage.size)
  })

  test('delete_postgres_cluster removes the cluster, its pods and its volumes', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const took = timer('delete cluster until pods and PVCs are gone')
    assert.match(textOf(await ok(admin!, 'delete_postgres_cluster', {name: NAME, namespace: NS, confirm_deletion: true})), /Successfully deleted cluster e2e-clusters\/life/)
    await waitUntil(async () => (await getJson(clusterPath(NS, NAME))) === undefined && (await pods(NS, NAME)).length === 0 && (await pvcs(NS, NAME)).length === 0, 120_000, 'the cluster, its pods and PVCs to be gone')
    took()
    const listed = textOf(await ok(admin!, 'list_postgres_clusters', {namespace: NS}))
    assert.doesNotMatch(listed, /\blife\b/)
  })
})

