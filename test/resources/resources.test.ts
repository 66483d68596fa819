// MCP resources: the tool reference, cnpg:// templates read from the real API server, listing,
// completion of template arguments and subscriptions.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import YAML from 'yaml'
import {ResourceUpdatedNotificationSchema} from '@modelcontextprotocol/sdk/types.js'
import {createNamespace, harness, kubeRequest} from '../support/kube.ts'
import {makeHealthyCluster, setClusterStatus, healthyClusterStatus} from '../support/operator.ts'
import {connectStdio, type StdioSession} from '../support/mcp.ts'

const CLUSTER_TEMPLATE = 'cnpg://{namespace}/clusters/{name}'

/** The admin kubeconfig with the test namespace as the context's default namespace. */
function kubeconfigWithNamespace(namespace: string): string {
  const config = YAML.parse(readFileSync(harness().kubeconfigFor('admin'), 'utf8')) as {contexts: Array<{context: {namespace?: string}}>}
  for (const context of config.contexts) context.context.namespace = namespace
  const file = join(mkdtempSync(join(tmpdir(), 'kmcp-res-')), 'kubeconfig')
  writeFileSync(file, YAML.stringify(config))
  return file
}

describe('MCP resources against the real API server', () => {
  let session: StdioSession
  let ns: string
  const updates: string[] = []

  before(async () => {
    ns = await createNamespace('pg-res')
    await makeHealthyCluster(ns, 'alpha-db', {instances: 2})
    await makeHealthyCluster(ns, 'beta-db', {instances: 1})
    const role = await kubeRequest('admin', 'POST', `/apis/postgresql.cnpg.io/v1/namespaces/${ns}/databaseroles`, {apiVersion: 'postgresql.cnpg.io/v1', kind: 'DatabaseRole', metadata: {name: 'alpha-db-reader'}, spec: {name: 'reader', cluster: {name: 'alpha-db'}, login: true}})
    assert.equal(role.status, 201, role.text)
    session = await connectStdio({kubeconfig: kubeconfigWithNamespace(ns)})
    session.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updates.push(notification.params.uri)
    })
  })

  after(async () => {
    await session?.close()
  })

  test('resources/list: the tool reference and the clusters of the default namespace', async () => {
    const {resources} = await session.client.listResources()
    const uris = resources.map((r) => r.uri)
    assert.ok(uris.includes('docs://kmcp/tools'))
    for (const name of ['alpha-db', 'beta-db']) {
      assert.ok(uris.includes(`cnpg://${ns}/clusters/${name}`), `${name} in ${uris.join(', ')}`)
      assert.ok(uris.includes(`cnpg://${ns}/clusters/${name}/roles`))
    }
    const {resourceTemplates} = await session.client.listResourceTemplates()
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate).sort(), [CLUSTER_TEMPLATE, `${CLUSTER_TEMPLATE}/databases`, `${CLUSTER_TEMPLATE}/roles`])
  })

  test('resources/read: the tool reference names every tool with its parameters', async () => {
    const {contents} = await session.client.readResource({uri: 'docs://kmcp/tools'})
    const text = (contents[0] as {text: string}).text
    for (const tool of ['list_postgres_clusters', 'create_postgres_role', 'get_connection_info', 'admin_reload_prompts']) assert.match(text, new RegExp(`### ${tool}`))
    assert.match(text, /\| role_name \| yes \|/)
  })

  test('resources/read of a cluster, its roles, and a missing cluster', async () => {
    const {contents} = await session.client.readResource({uri: `cnpg://${ns}/clusters/alpha-db`})
    const cluster = JSON.parse((contents[0] as {text: string}).text) as {name: string; instances: number; ready_instances: number; current_primary: string}
    assert.deepEqual([cluster.name, cluster.instances, cluster.ready_instances, cluster.current_primary], ['alpha-db', 2, 2, 'alpha-db-1'])
    assert.equal(contents[0].mimeType, 'application/json')
    const roles = await session.client.readResource({uri: `cnpg://${ns}/clusters/alpha-db/roles`})
    assert.deepEqual((JSON.parse((roles.contents[0] as {text: string}).text) as {roles: Array<{name: string}>}).roles.map((r) => r.name), ['reader'])
    await assert.rejects(session.client.readResource({uri: `cnpg://${ns}/clusters/missing-db`}), (error: {code?: number; message?: string}) => error.code === -32002 && /404/.test(error.message ?? ''))
  })

  test('completion/complete of template arguments comes from the API server', async () => {
    const names = await session.client.complete({ref: {type: 'ref/resource', uri: CLUSTER_TEMPLATE}, argument: {name: 'name', value: 'al'}, context: {arguments: {namespace: ns}}})
    assert.deepEqual(names.completion.values, ['alpha-db'])
    const all = await session.client.complete({ref: {type: 'ref/resource', uri: CLUSTER_TEMPLATE}, argument: {name: 'name', value: ''}, context: {arguments: {namespace: ns}}})
    assert.deepEqual(all.completion.values.sort(), ['alpha-db', 'beta-db'])
    const namespaces = await session.client.complete({ref: {type: 'ref/resource', uri: CLUSTER_TEMPLATE}, argument: {name: 'namespace', value: ns.slice(0, 8)}})
    assert.ok(namespaces.completion.values.includes(ns), namespaces.completion.values.join(', '))
    // The built-in prompts complete their cluster arguments the same way.
    const promptCluster = await session.client.complete({ref: {type: 'ref/prompt', name: 'diagnose-unhealthy-cluster'}, argument: {name: 'cluster_name', value: 'be'}, context: {arguments: {namespace: ns}}})
    assert.deepEqual(promptCluster.completion.values, ['beta-db'])
    const promptNamespace = await session.client.complete({ref: {type: 'ref/prompt', name: 'plan-restore'}, argument: {name: 'namespace', value: ns}})
    assert.deepEqual(promptNamespace.completion.values, [ns])
  })

  test('a subscribed cluster resource reports its changes', async () => {
    const uri = `cnpg://${ns}/clusters/beta-db`
    await session.client.subscribeResource({uri})
    // The watch starts asynchronously; change the status until the update arrives.
    const deadline = Date.now() + 15_000
    let phase = 0
    while (!updates.includes(uri) && Date.now() < deadline) {
      await setClusterStatus(ns, 'beta-db', {...healthyClusterStatus('beta-db', {instances: 1}), phase: `Upgrading ${++phase}`})
      await new Promise((r) => setTimeout(r, 300))
    }
    assert.ok(updates.includes(uri), 'notifications/resources/updated arrived')
    await session.client.unsubscribeResource({uri})
    await assert.rejects(session.client.subscribeResource({uri: 'docs://kmcp/tools'}), /only cnpg:\/\//)
  })
})
