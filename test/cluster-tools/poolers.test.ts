// The pooler tools through a real MCP client and a real API server; the operator's part (the
// PgBouncer pods) is played by creating pods labelled cnpg.io/poolerName and writing their status.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createNamespace, createObject, harness, kubeRequest} from '../support/kube.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {cnpg, connectEliciting, fails, getJson, ok, waitForCnpgStorage, yamlBlock, type ElicitingSession} from './helpers.ts'

describe('pooler tools against the real API server', () => {
  let ns: string
  let admin: StdioSession
  let human: ElicitingSession

  before(async () => {
    ns = await createNamespace('ct-pool')
    await waitForCnpgStorage(ns, ['clusters', 'poolers'])
    ;[admin, human] = await Promise.all([connectStdio({kubeconfig: harness().kubeconfigFor('admin')}), connectEliciting('admin')])
    await makeHealthyCluster(ns, 'orders', {instances: 2})
  })

  after(async () => {
    await Promise.all([admin?.close(), human?.close()])
  })

  test('create_pooler: dry run shows the server-validated Pooler and stores nothing; a missing cluster is 404', async () => {
    const result = await ok(admin, 'create_pooler', {cluster: 'orders', namespace: ns, type: 'ro', instances: 2, pool_mode: 'transaction', parameters: {max_client_conn: '500'}, dry_run: true})
    const manifest = yamlBlock(textOf(result))
    assert.equal(manifest.kind, 'Pooler')
    assert.equal(manifest.metadata.name, 'orders-pooler-ro')
    assert.deepEqual(manifest.spec.cluster, {name: 'orders'})
    assert.equal(manifest.spec.type, 'ro')
    assert.equal(manifest.spec.instances, 2)
    assert.deepEqual(manifest.spec.pgbouncer, {poolMode: 'transaction', parameters: {max_client_conn: '500'}, paused: false})
    assert.equal(await getJson(cnpg(ns, 'poolers', 'orders-pooler-ro')), undefined)
    await fails(admin, 'create_pooler', {cluster: 'nope', namespace: ns}, /404 NotFound while getting cluster .*\/nope/)
    await fails(admin, 'create_pooler', {cluster: 'orders', namespace: ns, parameters: {'Max-Conn': '1'}}, /PgBouncer parameters: "Max-Conn" is not a valid name/)
    // The cluster's own Services: the operator would refuse to take the Service over (seen on the real operator).
    await fails(admin, 'create_pooler', {cluster: 'orders', name: 'orders-rw', namespace: ns, dry_run: true}, /"orders-rw" is the name of a Service of cluster orders/)
  })

  test('create, list and get with the PgBouncer pods; 409 on the same name', async () => {
    await ok(admin, 'create_pooler', {cluster: 'orders', namespace: ns, instances: 2, pool_mode: 'transaction'})
    const stored = await getJson(cnpg(ns, 'poolers', 'orders-pooler-rw'))
    assert.deepEqual([stored.spec.type, stored.spec.instances, stored.spec.pgbouncer.poolMode], ['rw', 2, 'transaction'])
    await fails(admin, 'create_pooler', {cluster: 'orders', namespace: ns}, /409/)

    const listed = await ok(admin, 'list_poolers', {namespace: ns, cluster: 'orders'})
    assert.match(textOf(listed), /orders-pooler-rw: rw pooler for cluster orders, 2 instance\(s\), pool mode transaction/)

    const before = await ok(admin, 'get_pooler', {name: 'orders-pooler-rw', namespace: ns})
    assert.match(textOf(before), /No PgBouncer pods yet/)
    for (const [index, ready] of [[1, true], [2, false]] as const) {
      const name = `orders-pooler-rw-7d9f-${index}`
      await createObject({apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace: ns, labels: {'cnpg.io/poolerName': 'orders-pooler-rw', 'cnpg.io/podRole': 'pooler'}}, spec: {containers: [{name: 'pgbouncer', image: 'pgbouncer'}]}})
      const patched = await kubeRequest('admin', 'PATCH', `/api/v1/namespaces/${ns}/pods/${name}/status`, {status: {phase: 'Running', containerStatuses: [{name: 'pgbouncer', ready, restartCount: ready ? 0 : 4, image: 'pgbouncer', imageID: '', state: {running: {startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z')}}}]}}, {contentType: 'application/merge-patch+json'})
      assert.equal(patched.status, 200, patched.text)
    }
    const after = await ok(admin, 'get_pooler', {name: 'orders-pooler-rw', namespace: ns, format: 'json'})
    const summary = after.structuredContent as {ready_pods: number; pods: Array<{name: string; ready: boolean; restarts: number}>}
    assert.equal(summary.ready_pods, 1)
    assert.deepEqual(summary.pods.map((p) => [p.ready, p.restarts]), [[true, 0], [false, 4]])
    const text = textOf(await ok(admin, 'get_pooler', {name: 'orders-pooler-rw', namespace: ns}))
    assert.match(text, /1\/2 ready/)
    assert.match(text, /Pod orders-pooler-rw-7d9f-2: NOT ready \(Running\), 4 restart\(s\)/)
    await fails(admin, 'get_pooler', {name: 'nope', namespace: ns}, /404[\s\S]*list_poolers/)
  })

  test('scale_pooler: up directly; to zero only when confirmed', async () => {
    await ok(admin, 'scale_pooler', {name: 'orders-pooler-rw', namespace: ns, instances: 3})
    assert.equal((await getJson(cnpg(ns, 'poolers', 'orders-pooler-rw'))).spec.instances, 3)
    await fails(admin, 'scale_pooler', {name: 'orders-pooler-rw', namespace: ns, instances: 0}, /^REFUSED: scale_pooler did not run[\s\S]*from 3 to 0 PgBouncer pod\(s\): every PgBouncer pod stops[\s\S]*"confirm":true/)
    assert.equal((await getJson(cnpg(ns, 'poolers', 'orders-pooler-rw'))).spec.instances, 3)
    const preview = await ok(admin, 'scale_pooler', {name: 'orders-pooler-rw', namespace: ns, instances: 0, dry_run: true})
    assert.match(textOf(preview), /lose their connections/)
    assert.equal((preview.structuredContent as {status: string}).status, 'dry_run')
    assert.match((preview.structuredContent as {dry_run: {apply_call: string}}).dry_run.apply_call, /"confirm":true/)
    assert.equal((await getJson(cnpg(ns, 'poolers', 'orders-pooler-rw'))).spec.instances, 3)
    human.answer = 'accept'
    await ok(human, 'scale_pooler', {name: 'orders-pooler-rw', namespace: ns, instances: 0})
    assert.equal((await getJson(cnpg(ns, 'poolers', 'orders-pooler-rw'))).spec.instances, 0)
    await ok(admin, 'scale_pooler', {name: 'orders-pooler-rw', namespace: ns, instances: 1})
  })

  test('pause_pooler asks first; resume_pooler does not; repeating is a no-op', async () => {
    human.answer = 'decline'
    await fails(human, 'pause_pooler', {name: 'orders-pooler-rw', namespace: ns}, /^REFUSED: pause_pooler did not run: the human declined[\s\S]*holds every new query/)
    assert.match(human.questions.at(-1) ?? '', /Pausing pooler .*\/orders-pooler-rw/)
    await fails(admin, 'pause_pooler', {name: 'orders-pooler-rw', namespace: ns}, /^REFUSED: pause_pooler did not run[\s\S]*"confirm":true/)
    assert.equal((await getJson(cnpg(ns, 'poolers', 'orders-pooler-rw'))).spec.pgbouncer.paused, false)
    await ok(admin, 'pause_pooler', {name: 'orders-pooler-rw', namespace: ns, confirm: true})
    assert.equal((await getJson(cnpg(ns, 'poolers', 'orders-pooler-rw'))).spec.pgbouncer.paused, true)
    assert.match(textOf(await ok(admin, 'pause_pooler', {name: 'orders-pooler-rw', namespace: ns, confirm: true})), /already paused/)
    assert.match(textOf(await ok(admin, 'list_poolers', {namespace: ns})), /PAUSED/)
    await ok(admin, 'resume_pooler', {name: 'orders-pooler-rw', namespace: ns})
    assert.equal((await getJson(cnpg(ns, 'poolers', 'orders-pooler-rw'))).spec.pgbouncer.paused, false)
  })

  test('delete_pooler: dry run and refusal keep it; confirmed deletion removes it', async () => {
    await ok(admin, 'delete_pooler', {name: 'orders-pooler-rw', namespace: ns, dry_run: true})
    assert.ok(await getJson(cnpg(ns, 'poolers', 'orders-pooler-rw')))
    await fails(admin, 'delete_pooler', {name: 'orders-pooler-rw', namespace: ns}, /^REFUSED: delete_pooler did not run[\s\S]*applications connecting through it lose access[\s\S]*"confirm_deletion":true/)
    assert.ok(await getJson(cnpg(ns, 'poolers', 'orders-pooler-rw')))
    await ok(admin, 'delete_pooler', {name: 'orders-pooler-rw', namespace: ns, confirm_deletion: true})
    assert.equal(await getJson(cnpg(ns, 'poolers', 'orders-pooler-rw')), undefined)
  })
})
