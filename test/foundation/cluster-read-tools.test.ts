import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import YAML from 'yaml'
import {bindRole, createNamespace, harness, kubeRequest} from '../support/kube.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {startTcpProxy, type TcpProxy} from '../support/tcp-proxy.ts'

function clusterManifest(namespace: string, name: string, instances = 1) {
  return {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: {name, namespace},
    spec: {instances, storage: {size: '1Gi'}},
  }
}

describe('list_postgres_clusters and get_cluster_status against the real API server', () => {
  let admin: StdioSession
  let namespace: string
  let emptyNamespace: string

  before(async () => {
    namespace = await createNamespace('read-tools')
    emptyNamespace = await createNamespace('read-empty')
    await makeHealthyCluster(namespace, 'orders-db', {instances: 3})
    const created = await kubeRequest('admin', 'POST', `/apis/postgresql.cnpg.io/v1/namespaces/${namespace}/clusters`, clusterManifest(namespace, 'fresh-db'))
    assert.equal(created.status, 201, JSON.stringify(created.body))
    admin = await connectStdio({kubeconfig: harness().kubeconfigFor('admin')})
  })

  after(async () => {
    await admin?.close()
  })

  test('tools/list declares both tools with schemas, annotations and descriptions', async () => {
    const {tools} = await admin.client.listTools()
    for (const name of ['list_postgres_clusters', 'get_cluster_status']) {
      const tool = tools.find((t) => t.name === name)
      assert.ok(tool, name)
      assert.equal(tool.annotations?.readOnlyHint, true)
      assert.ok(tool.outputSchema, `${name} has an output schema`)
      assert.match(tool.description ?? '', /Example:/)
      assert.match(tool.description ?? '', /Errors:/)
    }
  })

  test('lists the clusters of a namespace with "X/Y ready" and structured content', async () => {
    const result = await callTool(admin.client, 'list_postgres_clusters', {namespace})
    assert.equal(result.isError, undefined)
    const text = textOf(result)
    assert.match(text, /Found 2 PostgreSQL cluster\(s\) in namespace/)
    assert.match(text, new RegExp(`\\*\\*Cluster: ${namespace}/orders-db\\*\\*`))
    assert.match(text, /Instances: 3\/3 ready/)
    assert.match(text, /Current Primary: orders-db-1/)
    assert.match(text, /Instances: 0\/1 ready/)
    const structured = result.structuredContent as {clusters: Array<{name: string; phase: string}>; count: number}
    assert.equal(structured.count, 2)
    assert.deepEqual(structured.clusters.map((c) => c.name).sort(), ['fresh-db', 'orders-db'])
    assert.equal(structured.clusters.find((c) => c.name === 'fresh-db')!.phase, 'Unknown')
  })

  test('json format returns the same data as JSON text', async () => {
    const result = await callTool(admin.client, 'list_postgres_clusters', {namespace, format: 'json', detail_level: 'detailed'})
    const parsed = JSON.parse(textOf(result)) as {clusters: Array<{name: string; storage_size?: string; conditions?: unknown[]}>}
    const orders = parsed.clusters.find((c) => c.name === 'orders-db')!
    assert.equal(orders.storage_size, '1Gi')
    assert.ok(Array.isArray(orders.conditions))
  })

  test('an empty namespace says so', async () => {
    const result = await callTool(admin.client, 'list_postgres_clusters', {namespace: emptyNamespace})
    assert.equal(result.isError, undefined)
    assert.match(textOf(result), /No PostgreSQL clusters found in namespace/)
    assert.equal((result.structuredContent as {count: number}).count, 0)
  })

  test('all_namespaces spans namespaces, and limit/continue page through them', async () => {
    const first = await callTool(admin.client, 'list_postgres_clusters', {all_namespaces: true, limit: 1})
    const page1 = first.structuredContent as {clusters: Array<{namespace: string}>; continue?: string; scope: string}
    assert.equal(page1.scope, 'all namespaces')
    assert.equal(page1.clusters.length, 1)
    assert.ok(page1.continue, 'a continue token')
    assert.match(textOf(first), /call again with "continue"/)
    const second = await callTool(admin.client, 'list_postgres_clusters', {all_namespaces: true, limit: 1, continue: page1.continue})
    assert.equal((second.structuredContent as {clusters: unknown[]}).clusters.length, 1)
  })

  test('get_cluster_status reports one cluster; detailed adds conditions and instances', async () => {
    const result = await callTool(admin.client, 'get_cluster_status', {name: 'orders-db', namespace, detail_level: 'detailed'})
    assert.equal(result.isError, undefined)
    const text = textOf(result)
    assert.match(text, /Instances: 3\/3 ready/)
    assert.match(text, /\*\*Conditions:\*\*/)
    const structured = result.structuredContent as {name: string; ready_instances: number; current_primary: string}
    assert.equal(structured.ready_instances, 3)
    assert.equal(structured.current_primary, 'orders-db-1')
  })

  test('a missing cluster is a 404 tool error that says what to do', async () => {
    const result = await callTool(admin.client, 'get_cluster_status', {name: 'no-such-db', namespace})
    assert.equal(result.isError, true)
    const text = textOf(result)
    assert.match(text, /Kubernetes API error 404 NotFound while getting cluster .*\/no-such-db/)
    assert.match(text, /What to do: .*list_postgres_clusters/)
  })

  test('invalid arguments are rejected before any request, naming the field and rule', async () => {
    const bad = await callTool(admin.client, 'get_cluster_status', {name: 'Orders_DB', namespace})
    assert.equal(bad.isError, true)
    assert.match(textOf(bad), /name "Orders_DB" is not a valid Kubernetes name: it must be lower case/)
    const badLimit = await callTool(admin.client, 'list_postgres_clusters', {namespace, limit: 0})
    assert.equal(badLimit.isError, true)
    assert.match(textOf(badLimit), /limit must be at least 1/)
  })

  test('a user without a RoleBinding gets 403, then succeeds once bound to the CNPG view role', async () => {
    const alice = await connectStdio({kubeconfig: harness().kubeconfigFor('alice')})
    try {
      const denied = await callTool(alice.client, 'list_postgres_clusters', {namespace})
      assert.equal(denied.isError, true)
      assert.match(textOf(denied), /403 Forbidden while listing PostgreSQL clusters/)
      assert.match(textOf(denied), /cnpg-cloudnative-pg-view/)
      await bindRole(namespace, 'alice', 'cnpg-cloudnative-pg-view')
      const allowed = await callTool(alice.client, 'list_postgres_clusters', {namespace})
      assert.equal(allowed.isError, undefined, textOf(allowed))
      assert.equal((allowed.structuredContent as {count: number}).count, 2)
    } finally {
      await alice.close()
    }
  })
})

describe('response budget', () => {
  test('a list larger than 25,000 characters is cut at whole clusters and says how to get the rest', async () => {
    const namespace = await createNamespace('budget')
    // Long conditions make each cluster big in detailed mode.
    const manifests = Array.from({length: 40}, (_, i) => `budget-db-${i}`)
    await Promise.all(manifests.map((name) => makeHealthyCluster(namespace, name, {instances: 2, conditionMessage: 'x'.repeat(900)})))
    const session = await connectStdio({kubeconfig: harness().kubeconfigFor('admin')})
    try {
      for (const format of ['text', 'json'] as const) {
        const result = await callTool(session.client, 'list_postgres_clusters', {namespace, detail_level: 'detailed', format})
        const text = textOf(result)
        assert.ok(text.length <= 25_000, `${format}: ${text.length} characters`)
        const structured = result.structuredContent as {clusters: unknown[]; truncated?: {omitted_items: number; shown_items: number; how_to_get_the_rest: string}}
        assert.ok(structured.truncated, `${format}: truncation reported`)
        assert.equal(structured.truncated.omitted_items + structured.truncated.shown_items, 40)
        assert.equal(structured.clusters.length, structured.truncated.shown_items)
        assert.match(structured.truncated.how_to_get_the_rest, /limit/)
        if (format === 'text') assert.match(text, /more cluster\(s\) in this page were left out/)
      }
    } finally {
      await session.close()
    }
  })
})

describe('Kubernetes unreachable', () => {
  let proxy: TcpProxy
  let session: StdioSession
  let namespace: string

  before(async () => {
    namespace = await createNamespace('unreachable')
    const server = new URL(harness().server)
    proxy = await startTcpProxy({host: server.hostname, port: Number(server.port)})
    const config = YAML.parse(readFileSync(harness().kubeconfigFor('admin'), 'utf8'))
    for (const cluster of config.clusters) cluster.cluster.server = `https://127.0.0.1:${proxy.port}`
    const dir = mkdtempSync(join(tmpdir(), 'kmcp-proxy-'))
    const kubeconfig = join(dir, 'kubeconfig')
    writeFileSync(kubeconfig, YAML.stringify(config))
    session = await connectStdio({kubeconfig})
  })

  after(async () => {
    await session?.close()
    await proxy?.stop()
  })

  test('a tool error names the server tried and how to fix it; the server recovers when the API server returns', async () => {
    const ok = await callTool(session.client, 'list_postgres_clusters', {namespace})
    assert.equal(ok.isError, undefined, textOf(ok))
    await proxy.stop()
    const down = await callTool(session.client, 'list_postgres_clusters', {namespace})
    assert.equal(down.isError, true)
    assert.match(textOf(down), new RegExp(`Could not reach the Kubernetes API server at https://127\\.0\\.0\\.1:${proxy.port}`))
    assert.match(textOf(down), /--kubeconfig/)
    await proxy.start()
    const back = await callTool(session.client, 'list_postgres_clusters', {namespace})
    assert.equal(back.isError, undefined, textOf(back))
  })
})
