// Publication and Subscription tools through a real MCP client and a real API server; the
// operator's part (status.applied/message) is written by hand.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createNamespace, harness} from '../support/kube.ts'
import {makeHealthyCluster, setStatus} from '../support/operator.ts'
import {connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {cnpg, fails, getJson, ok, waitForCnpgStorage, yamlBlock} from './helpers.ts'

describe('logical replication tools against the real API server', () => {
  let ns: string
  let admin: StdioSession

  before(async () => {
    ns = await createNamespace('ct-logrep')
    await waitForCnpgStorage(ns, ['clusters', 'publications', 'subscriptions'])
    admin = await connectStdio({kubeconfig: harness().kubeconfigFor('admin')})
    await makeHealthyCluster(ns, 'source', {instances: 1})
    await makeHealthyCluster(ns, 'target', {instances: 1, spec: {externalClusters: [{name: 'source', connectionParameters: {host: 'source-rw', user: 'app', dbname: 'app'}, password: {name: 'source-app', key: 'password'}}]}})
  })

  after(async () => {
    await admin?.close()
  })

  test('create_publication: what to publish is required and exclusive; dry run stores nothing', async () => {
    await fails(admin, 'create_publication', {name: 'orders-pub', cluster: 'source', namespace: ns, database: 'app'}, /Say what to publish/)
    await fails(admin, 'create_publication', {name: 'orders-pub', cluster: 'source', namespace: ns, database: 'app', all_tables: true, tables: ['orders']}, /not both/)
    const preview = yamlBlock(textOf(await ok(admin, 'create_publication', {name: 'orders-pub', cluster: 'source', namespace: ns, database: 'app', all_tables: true, dry_run: true})))
    assert.deepEqual(preview.spec, {cluster: {name: 'source'}, name: 'orders_pub', dbname: 'app', target: {allTables: true}, publicationReclaimPolicy: 'retain'})
    assert.equal(await getJson(cnpg(ns, 'publications', 'orders-pub')), undefined)
  })

  test('create, list and get a publication; the operator\'s verdict is shown', async () => {
    await ok(admin, 'create_publication', {name: 'orders-pub', cluster: 'source', namespace: ns, database: 'app', tables: ['public.orders', 'customers'], schemas: ['sales'], reclaim_policy: 'delete'})
    const stored = await getJson(cnpg(ns, 'publications', 'orders-pub'))
    assert.deepEqual(stored.spec.target.objects, [{tablesInSchema: 'sales'}, {table: {name: 'orders', schema: 'public'}}, {table: {name: 'customers'}}])
    assert.match(textOf(await ok(admin, 'list_publications', {namespace: ns})), /orders-pub: "orders_pub" in database app of cluster source, publishes tables in schema sales, public\.orders, customers; not applied yet/)
    await setStatus('publications', ns, 'orders-pub', {applied: false, message: 'relation "customers" does not exist', observedGeneration: stored.metadata.generation})
    assert.match(textOf(await ok(admin, 'get_publication', {name: 'orders-pub', namespace: ns})), /NOT applied: relation "customers" does not exist/)
    await setStatus('publications', ns, 'orders-pub', {applied: true, observedGeneration: stored.metadata.generation})
    const applied = await ok(admin, 'get_publication', {name: 'orders-pub', namespace: ns, format: 'json'})
    assert.equal((applied.structuredContent as {applied: string}).applied, 'yes')
    await fails(admin, 'get_publication', {name: 'nope', namespace: ns}, /404[\s\S]*list_publications/)
  })

  test('create_subscription checks the external cluster; create and list', async () => {
    await fails(admin, 'create_subscription', {name: 'orders-sub', cluster: 'target', namespace: ns, database: 'app', publication_name: 'orders_pub', external_cluster: 'elsewhere'}, /has no external cluster "elsewhere" in spec\.externalClusters \(it has: source\)/)
    await ok(admin, 'create_subscription', {name: 'orders-sub', cluster: 'target', namespace: ns, database: 'app', publication_name: 'orders_pub', external_cluster: 'source', parameters: {copy_data: 'true'}})
    const stored = await getJson(cnpg(ns, 'subscriptions', 'orders-sub'))
    assert.deepEqual([stored.spec.name, stored.spec.publicationName, stored.spec.externalClusterName, stored.spec.parameters], ['orders_sub', 'orders_pub', 'source', {copy_data: 'true'}])
    assert.match(textOf(await ok(admin, 'list_subscriptions', {namespace: ns, cluster: 'target'})), /orders-sub: "orders_sub" in database app of cluster target, subscribes to orders_pub on external cluster source/)
  })

  test('create_subscription connect_as: a CNPG source of the namespace becomes an external cluster of the target (dry run: nothing stored)', async () => {
    // The operator's part: it records the Secret it granted the target's instances, which the tool waits for.
    await makeHealthyCluster(ns, 'replica-db', {instances: 1, status: {secretsResourceVersion: {externalClusterSecretVersion: {'cnpg-source-user-replicator': '1'}}}})
    await fails(admin, 'create_subscription', {name: 'copy-sub', cluster: 'replica-db', namespace: ns, database: 'app', publication_name: 'orders_pub', external_cluster: 'source'}, /has no external cluster "source" in spec\.externalClusters \(it has: none\)[\s\S]*give connect_as/)
    await fails(admin, 'create_subscription', {name: 'copy-sub', cluster: 'replica-db', namespace: ns, database: 'app', publication_name: 'orders_pub', external_cluster: 'nowhere', connect_as: 'replicator'}, /"nowhere" is neither in spec\.externalClusters of cluster .*\/replica-db nor a CNPG cluster of namespace/)
    const preview = textOf(await ok(admin, 'create_subscription', {name: 'copy-sub', cluster: 'replica-db', namespace: ns, database: 'app', publication_name: 'orders_pub', external_cluster: 'source', connect_as: 'replicator', dry_run: true}))
    assert.match(preview, /External cluster "source" in spec\.externalClusters of cluster .*\/replica-db: host source-rw\..*\.svc, database app, role replicator with the password in Secret cnpg-source-user-replicator/)
    assert.equal((await getJson(cnpg(ns, 'clusters', 'replica-db'))).spec.externalClusters, undefined)
    assert.equal(await getJson(cnpg(ns, 'subscriptions', 'copy-sub')), undefined)
    await ok(admin, 'create_subscription', {name: 'copy-sub', cluster: 'replica-db', namespace: ns, database: 'app', publication_name: 'orders_pub', external_cluster: 'source', connect_as: 'replicator'})
    assert.deepEqual((await getJson(cnpg(ns, 'clusters', 'replica-db'))).spec.externalClusters, [{name: 'source', connectionParameters: {host: `source-rw.${ns}.svc`, user: 'replicator', dbname: 'app'}, password: {name: 'cnpg-source-user-replicator', key: 'password'}}])
    assert.equal((await getJson(cnpg(ns, 'subscriptions', 'copy-sub'))).spec.externalClusterName, 'source')
  })

  test('delete: confirmation required; the preview says whether PostgreSQL drops it', async () => {
    await fails(admin, 'delete_publication', {name: 'orders-pub', namespace: ns}, /^REFUSED: delete_publication did not run[\s\S]*DROPS the publication in PostgreSQL[\s\S]*"confirm_deletion":true/)
    assert.ok(await getJson(cnpg(ns, 'publications', 'orders-pub')))
    await ok(admin, 'delete_publication', {name: 'orders-pub', namespace: ns, confirm_deletion: true})
    assert.equal(await getJson(cnpg(ns, 'publications', 'orders-pub')), undefined)
    assert.match(textOf(await ok(admin, 'delete_subscription', {name: 'orders-sub', namespace: ns, dry_run: true})), /stays in PostgreSQL \(reclaim policy retain\)/)
    await ok(admin, 'delete_subscription', {name: 'orders-sub', namespace: ns, confirm_deletion: true})
    assert.equal(await getJson(cnpg(ns, 'subscriptions', 'orders-sub')), undefined)
  })
})
