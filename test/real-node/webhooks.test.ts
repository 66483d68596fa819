// The operator's own admission webhooks, answering kmcp's requests: what CNPG really says when it
// refuses a spec (HTTP 422), both on a dry run and for real, and that nothing is stored. The
// webhooks are installed cluster-wide, so this file works in a namespace the operator does not
// watch: no instance is ever started for these clusters.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createNamespace, kubeRequest} from '../support/kube.ts'
import {callTool, textOf, type StdioSession} from '../support/mcp.ts'
import {clusterPath, connectAdmin, getJson, ok, realNodeUnavailable, skipWithoutNode} from './helpers.ts'

describe('CNPG\'s own webhooks refuse invalid specs sent by kmcp (422, nothing stored)', () => {
  let admin: StdioSession | undefined
  let ns: string

  before(async () => {
    if ((await realNodeUnavailable()) !== undefined) return
    admin = await connectAdmin()
    ns = await createNamespace('e2e-webhooks')
  })
  after(async () => {
    await admin?.close()
  })

  const refused = async (tool: string, args: Record<string, unknown>, pattern: RegExp) => {
    const result = await callTool(admin!.client, tool, args)
    assert.equal(result.isError, true, `${tool} should be refused: ${textOf(result)}`)
    assert.match(textOf(result), pattern)
    return textOf(result)
  }

  test('create_postgres_cluster with a "latest" image: CNPG refuses the tag', async (t) => {
    if (!(await skipWithoutNode(t))) return
    for (const dry_run of [true, false]) {
      const text = await refused('create_postgres_cluster', {name: 'latest-db', namespace: ns, instances: 1, container_image: 'localhost/postgresql:latest', dry_run}, /422[\s\S]*Can't use 'latest' as image tag as we can't detect upgrades/)
      assert.match(text, /spec\.imageName/)
    }
    assert.equal(await getJson(clusterPath(ns, 'latest-db')), undefined)
  })

  test('scale_postgres_cluster below maxSyncReplicas + 1: CNPG refuses, the spec is unchanged', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const created = await kubeRequest('admin', 'POST', `/apis/postgresql.cnpg.io/v1/namespaces/${ns}/clusters`, {apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: {name: 'sync'}, spec: {instances: 3, minSyncReplicas: 1, maxSyncReplicas: 2, storage: {size: '1Gi'}}})
    assert.equal(created.status, 201, created.text)
    for (const dry_run of [true, false]) await refused('scale_postgres_cluster', {name: 'sync', namespace: ns, instances: 2, dry_run, confirm_scale_down: true}, /422[\s\S]*maxSyncReplicas must be lower than the number of instances/)
    assert.equal((await getJson(clusterPath(ns, 'sync'))).spec.instances, 3)
    assert.match(textOf(await ok(admin!, 'scale_postgres_cluster', {name: 'sync', namespace: ns, instances: 4, dry_run: true})), /scale up from 3 to 4/)
  })

  test('shrinking storage: CNPG refuses a plain change; kmcp\'s shrink passes because it disables validation around the change', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const created = await kubeRequest('admin', 'POST', `/apis/postgresql.cnpg.io/v1/namespaces/${ns}/clusters`, {apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: {name: 'shrinky'}, spec: {instances: 1, storage: {size: '2Gi'}}})
    assert.equal(created.status, 201, created.text)
    const plain = await kubeRequest('admin', 'PATCH', clusterPath(ns, 'shrinky'), {spec: {storage: {size: '1Gi'}}}, {contentType: 'application/merge-patch+json', dryRun: true})
    assert.equal(plain.status, 422, plain.text)
    assert.match(plain.text, /can't shrink existing storage from 2Gi to 1Gi/)
    const applied = textOf(await ok(admin!, 'resize_postgres_cluster', {name: 'shrinky', namespace: ns, storage_size: '1Gi', extra_instances: 1, confirm_shrink: true}))
    assert.match(applied, /Shrink of cluster .* was applied[\s\S]*validation restored/)
    const stored = await getJson(clusterPath(ns, 'shrinky'))
    assert.equal(stored.spec.storage.size, '1Gi')
    assert.equal(stored.metadata.annotations?.['cnpg.io/validation'], undefined)
  })
})
