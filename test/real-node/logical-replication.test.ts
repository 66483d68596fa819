// Logical replication on the real operator, through kmcp's tools: two clusters, a table on both, a
// replication role on the source (create_postgres_role), a Publication on the source and a
// Subscription on the target that reaches the source through the externalClusters entry
// create_subscription adds itself (connect_as). A row inserted on the source appears on the target;
// deleting both objects (reclaim policy delete) drops them in PostgreSQL.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {textOf, type StdioSession} from '../support/mcp.ts'
import {appConnection, call, clusterPath, connectAdmin, createArgsForNode, deleteClusters, getJson, ok, realNodeUnavailable, skipWithoutNode, sqlEventually, sqlOk, timer, untilStatus, waitUntil, type PsqlTarget} from './helpers.ts'

const NS = 'e2e-logical'
const SOURCE = 'lr-src'
const TARGET = 'lr-dst'
const ROLE = 'replicator'

interface Replication {
  applied: 'yes' | 'no' | 'pending'
  message?: string
}

describe('logical replication between two clusters on the real operator', () => {
  let admin: StdioSession | undefined
  let source: PsqlTarget
  let target: PsqlTarget

  async function untilApplied(kind: 'publication' | 'subscription', name: string, timeoutMs: number): Promise<void> {
    let last: Replication | undefined
    try {
      await waitUntil(async () => {
        last = (await ok(admin!, `get_${kind}`, {name, namespace: NS, format: 'json'})).structuredContent as unknown as Replication
        return last.applied === 'yes'
      }, timeoutMs, `${kind} ${name} applied`)
    } catch (error) {
      throw new Error(`${(error as Error).message}; last get_${kind}: ${JSON.stringify(last)}`, {cause: error})
    }
  }

  before(async () => {
    if ((await realNodeUnavailable()) === undefined) admin = await connectAdmin()
  })
  after(async () => {
    if (admin) {
      for (const [kind, name] of [['subscription', 'items-sub'], ['publication', 'items-pub']]) await call(admin, `delete_${kind}`, {name, namespace: NS, confirm_deletion: true}).catch(() => {})
      await deleteClusters(NS)
    }
    await admin?.close()
  })

  test('two clusters with the same table, a replication role on the source', async (t) => {
    if (!(await skipWithoutNode(t))) return
    // Both at once: the operator creates them side by side.
    await Promise.all([SOURCE, TARGET].map(async (name) => ok(admin!, 'create_postgres_cluster', await createArgsForNode(name, NS, 1))))
    await Promise.all([SOURCE, TARGET].map((name) => untilStatus(admin!, NS, name, /Instances: 1\/1 ready/)))
    source = await appConnection(admin!, NS, SOURCE)
    target = await appConnection(admin!, NS, TARGET)
    for (const conn of [source, target]) await sqlEventually(NS, 'create table items (id int primary key, name text)', conn)
    await sqlOk(NS, "insert into items values (1, 'before the subscription')", source)
    await ok(admin!, 'create_postgres_role', {cluster_name: SOURCE, role_name: ROLE, replication: true, in_roles: ['pg_read_all_data'], reclaim_policy: 'delete', namespace: NS})
    await waitUntil(async () => (await sqlOk(NS, `select rolreplication from pg_roles where rolname = '${ROLE}'`, source)) === 't', 90_000, `role ${ROLE} with REPLICATION on ${SOURCE}`)
  })

  test('create_publication on the source is applied', async (t) => {
    if (!(await skipWithoutNode(t)) || !source) return t.skip('no clusters (the first test failed)')
    await ok(admin!, 'create_publication', {name: 'items-pub', cluster: SOURCE, database: 'app', tables: ['public.items'], reclaim_policy: 'delete', namespace: NS})
    await untilApplied('publication', 'items-pub', 90_000)
    assert.equal(await sqlOk(NS, "select string_agg(tablename, ',') from pg_publication_tables where pubname = 'items_pub'", source), 'items')
  })

  test('create_subscription without an external cluster says how to link one; its dry run stores nothing', async (t) => {
    if (!(await skipWithoutNode(t)) || !source) return t.skip('no clusters (the first test failed)')
    const refused = await call(admin!, 'create_subscription', {name: 'items-sub', cluster: TARGET, database: 'app', publication_name: 'items_pub', external_cluster: SOURCE, namespace: NS})
    assert.equal(refused.isError, true)
    assert.match(textOf(refused), /connect_as/)
    const preview = textOf(await ok(admin!, 'create_subscription', {name: 'items-sub', cluster: TARGET, database: 'app', publication_name: 'items_pub', external_cluster: SOURCE, connect_as: ROLE, namespace: NS, dry_run: true}))
    assert.match(preview, new RegExp(`External cluster "${SOURCE}" in spec.externalClusters of cluster ${NS}/${TARGET}`))
    assert.equal((await getJson(clusterPath(NS, TARGET)))?.spec?.externalClusters, undefined, 'the dry run stored no externalClusters entry')
    assert.equal(await getJson(`/apis/postgresql.cnpg.io/v1/namespaces/${NS}/subscriptions/items-sub`), undefined, 'the dry run stored no Subscription')
  })

  test('create_subscription with connect_as links the source and is applied; a new row on the source reaches the target', async (t) => {
    if (!(await skipWithoutNode(t)) || !source) return t.skip('no clusters (the first test failed)')
    const took = timer('create_subscription until a new source row is on the target')
    await ok(admin!, 'create_subscription', {name: 'items-sub', cluster: TARGET, database: 'app', publication_name: 'items_pub', external_cluster: SOURCE, connect_as: ROLE, reclaim_policy: 'delete', namespace: NS})
    const external = (await getJson(clusterPath(NS, TARGET)))?.spec?.externalClusters
    assert.deepEqual(external?.map((e: {name: string; connectionParameters: {user: string}}) => [e.name, e.connectionParameters.user]), [[SOURCE, ROLE]])
    await untilApplied('subscription', 'items-sub', 120_000)
    // The initial copy brings the row written before the subscription...
    await waitUntil(async () => (await sqlOk(NS, 'select count(*) from items where id = 1', target)) === '1', 90_000, 'the initial copy of items on the target')
    // ...and a row inserted afterwards streams over.
    await sqlOk(NS, "insert into items values (2, 'after the subscription')", source)
    await waitUntil(async () => (await sqlOk(NS, 'select name from items where id = 2', target)) === 'after the subscription', 60_000, 'row 2 replicated to the target')
    took()
  })

  test('delete_subscription and delete_publication drop them in PostgreSQL (reclaim policy delete)', async (t) => {
    if (!(await skipWithoutNode(t)) || !source) return t.skip('no clusters (the first test failed)')
    await ok(admin!, 'delete_subscription', {name: 'items-sub', namespace: NS, confirm_deletion: true})
    await waitUntil(async () => (await sqlOk(NS, "select count(*) from pg_stat_subscription where subname = 'items_sub'", target)) === '0', 90_000, 'the subscription dropped on the target')
    await ok(admin!, 'delete_publication', {name: 'items-pub', namespace: NS, confirm_deletion: true})
    await waitUntil(async () => (await sqlOk(NS, "select count(*) from pg_publication where pubname = 'items_pub'", source)) === '0', 90_000, 'the publication dropped on the source')
    assert.doesNotMatch(textOf(await ok(admin!, 'list_subscriptions', {namespace: NS})), /items-sub/)
  })
})
