// Server modes (--read-only, --disable-destructive, --toolsets, --enable-tools/--disable-tools,
// --namespaces) over stdio and Streamable HTTP: what tools/list shows and what a call to a left-out
// tool gets (the SDK's standard unknown-tool error), and namespace refusals made before any request.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {createNamespace, harness} from '../support/kube.ts'
import {callTool, connectHttp, connectStdio, startHttpServer, textOf} from '../support/mcp.ts'
import {type CountingProxy, startCountingProxy} from '../support/counting-proxy.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {waitForCnpgStorage} from '../cluster-tools/helpers.ts'

interface Opened {
  client: Client
  close(): Promise<void>
}

type Transport = 'stdio' | 'http'

async function open(transport: Transport, kubeconfig: string, args: string[]): Promise<Opened> {
  if (transport === 'stdio') return connectStdio({kubeconfig, extraArgs: args})
  const server = await startHttpServer({kubeconfig, extraArgs: args})
  const client = await connectHttp(server.url)
  return {client, close: async () => {
    await client.close()
    await server.stop()
  }}
}

async function listed(client: Client): Promise<Map<string, {readOnlyHint?: boolean; destructiveHint?: boolean}>> {
  const {tools} = await client.listTools()
  return new Map(tools.map((t) => [t.name, t.annotations ?? {}]))
}

async function assertUnknownTool(client: Client, name: string, args: Record<string, unknown>): Promise<void> {
  const result = await callTool(client, name, args)
  assert.equal(result.isError, true, `${name} must not be callable`)
  assert.match(textOf(result), new RegExp(`Tool ${name} not found`))
}

for (const transport of ['stdio', 'http'] as const) {
  describe(`server modes over ${transport}`, () => {
    let ns: string
    let other: string
    let proxy: CountingProxy
    let kubeconfig: string

    before(async () => {
      ns = await createNamespace('safety-modes')
      other = await createNamespace('safety-other')
      await waitForCnpgStorage(ns)
      await makeHealthyCluster(ns, 'c', {instances: 1})
      proxy = await startCountingProxy()
      kubeconfig = proxy.kubeconfigFor('admin', ns)
    })
    after(async () => proxy?.close())

    test('--read-only lists and runs only readOnlyHint tools', async () => {
      const s = await open(transport, kubeconfig, ['--read-only'])
      try {
        const tools = await listed(s.client)
        assert.ok(tools.size > 5)
        for (const [name, a] of tools) assert.equal(a.readOnlyHint, true, `${name} is read-only`)
        assert.ok(tools.has('get_cluster_status'))
        await assertUnknownTool(s.client, 'create_postgres_cluster', {name: 'x', namespace: ns, instances: 1, storage_size: '1Gi'})
        await assertUnknownTool(s.client, 'delete_postgres_cluster', {name: 'c', namespace: ns, confirm_deletion: true})
        const status = await callTool(s.client, 'get_cluster_status', {name: 'c', namespace: ns})
        assert.notEqual(status.isError, true, textOf(status))
      } finally {
        await s.close()
      }
    })

    test('--disable-destructive keeps creations and drops every destructiveHint tool', async () => {
      const s = await open(transport, kubeconfig, ['--disable-destructive'])
      try {
        const tools = await listed(s.client)
        for (const [name, a] of tools) assert.notEqual(a.destructiveHint, true, `${name} is not destructive`)
        assert.ok(tools.has('create_postgres_cluster') && tools.has('resume_postgres_cluster'))
        await assertUnknownTool(s.client, 'scale_postgres_cluster', {name: 'c', namespace: ns, instances: 1})
      } finally {
        await s.close()
      }
    })

    test('--toolsets and --enable-tools/--disable-tools (names and globs)', async () => {
      const s = await open(transport, kubeconfig, ['--toolsets', 'postgres', '--disable-tools', 'delete_*,update_postgres_role'])
      try {
        const names = [...(await listed(s.client)).keys()]
        assert.ok(names.includes('list_postgres_roles'))
        assert.ok(!names.some((n) => n.startsWith('delete_') || n === 'update_postgres_role' || n.includes('cluster')), names.join(', '))
        await assertUnknownTool(s.client, 'list_postgres_clusters', {})
      } finally {
        await s.close()
      }
      const e = await open(transport, kubeconfig, ['--enable-tools', 'get_*,list_postgres_clusters'])
      try {
        const names = [...(await listed(e.client)).keys()]
        assert.ok(names.length > 3)
        assert.ok(names.every((n) => n.startsWith('get_') || n === 'list_postgres_clusters'), names.join(', '))
      } finally {
        await e.close()
      }
    })

    test('--namespaces refuses other namespaces before any request; all_namespaces lists only the allowed ones', async () => {
      const s = await open(transport, kubeconfig, ['--namespaces', ns])
      try {
        const before = proxy.requests.length
        const refused = await callTool(s.client, 'get_cluster_status', {name: 'c', namespace: other})
        assert.equal(refused.isError, true)
        assert.match(textOf(refused), new RegExp(`namespace "${other}" is outside the namespaces this server may use \\(${ns}\\)`))
        const create = await callTool(s.client, 'create_postgres_cluster', {name: 'x', namespace: other, instances: 1, storage_size: '1Gi'})
        assert.equal(create.isError, true)
        assert.deepEqual(proxy.requests.slice(before).filter((r) => r.path.includes(`/namespaces/${other}`)), [], 'nothing was asked about the other namespace')
        const listedAll = await callTool(s.client, 'list_postgres_clusters', {all_namespaces: true, format: 'json'})
        assert.notEqual(listedAll.isError, true, textOf(listedAll))
        assert.deepEqual((listedAll.structuredContent as {clusters: Array<{name: string}>}).clusters.map((c) => c.name), ['c'])
        const paths = proxy.requests.slice(before).map((r) => r.path)
        assert.ok(!paths.includes('/apis/postgresql.cnpg.io/v1/clusters'), 'no cluster-wide list')
        const own = await callTool(s.client, 'get_cluster_status', {name: 'c', namespace: ns})
        assert.notEqual(own.isError, true, textOf(own))
      } finally {
        await s.close()
      }
    })
  })
}

describe('server modes from the configuration file', () => {
  test('oidc.yaml keys set the modes; an unknown toolset stops the server with a clear error', async () => {
    const {mkdtempSync, writeFileSync} = await import('node:fs')
    const {join} = await import('node:path')
    const {tmpdir} = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'kmcp-modes-'))
    const file = join(dir, 'oidc.yaml')
    writeFileSync(file, 'read_only: true\ndisable_tools: ["get_connection_info"]\n')
    const s = await connectStdio({kubeconfig: harness().kubeconfigFor('admin'), extraArgs: ['--oidc-config', file]})
    try {
      const tools = await listed(s.client)
      for (const [name, a] of tools) assert.equal(a.readOnlyHint, true, name)
      assert.ok(!tools.has('get_connection_info'))
    } finally {
      await s.close()
    }
    writeFileSync(file, 'toolsets: [cnpg, nosuch]\n')
    await assert.rejects(connectStdio({kubeconfig: harness().kubeconfigFor('admin'), extraArgs: ['--oidc-config', file]}))
  })
})
