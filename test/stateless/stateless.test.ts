import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {ElicitRequestSchema} from '@modelcontextprotocol/sdk/types.js'
import {createNamespace, getObject, harness} from '../support/kube.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {callTool, startHttpServer, textOf, type HttpServerProcess} from '../support/mcp.ts'

describe('kmcp serve --transport http --stateless', () => {
  let server: HttpServerProcess
  let namespace: string

  before(async () => {
    namespace = await createNamespace('stateless')
    await makeHealthyCluster(namespace, 'keep-db', {instances: 2})
    await makeHealthyCluster(namespace, 'drop-db', {instances: 1})
    server = await startHttpServer({kubeconfig: harness().kubeconfigPath, extraArgs: ['--stateless']})
  })

  after(async () => {
    await server?.stop('SIGKILL')
  })

  /** A client that can elicit, and counts the elicitation requests it receives. */
  async function connect(): Promise<{client: Client; transport: StreamableHTTPClientTransport; elicitations: () => number}> {
    let elicitations = 0
    const client = new Client({name: 'kmcp-stateless-test', version: '1.0.0'}, {capabilities: {elicitation: {}}})
    client.setRequestHandler(ElicitRequestSchema, async () => {
      elicitations++
      return {action: 'accept', content: {confirm: true}}
    })
    const transport = new StreamableHTTPClientTransport(new URL(server.url))
    await client.connect(transport)
    return {client, transport, elicitations: () => elicitations}
  }

  test('the SDK client initializes without a session id, lists tools and calls a read tool', async () => {
    const {client, transport} = await connect()
    try {
      assert.equal(transport.sessionId, undefined, 'a stateless server hands out no Mcp-Session-Id')
      assert.match(server.stderr(), /listening on .*stateless/)
      const tools = await client.listTools()
      assert.ok(tools.tools.some((t) => t.name === 'list_postgres_clusters'))
      const listed = await callTool(client, 'list_postgres_clusters', {namespace})
      assert.equal(listed.isError, undefined, textOf(listed))
      assert.match(textOf(listed), /keep-db/)
      assert.match(textOf(listed), /drop-db/)
    } finally {
      await client.close()
    }
  })

  test('an initialize answer carries no Mcp-Session-Id header', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream'},
      body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-06-18', capabilities: {}, clientInfo: {name: 'raw', version: '1'}}}),
    })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('mcp-session-id'), null)
    assert.match(await response.text(), /"serverInfo"/)
  })

  test('GET and DELETE answer 405 naming stateless mode', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(server.url, {method, headers: {accept: 'text/event-stream, application/json'}})
      assert.equal(response.status, 405, method)
      assert.equal(response.headers.get('allow'), 'POST')
      const body = (await response.json()) as {error: {message: string}}
      assert.match(body.error.message, /stateless mode \(--stateless\).*POST/)
    }
  })

  test('a destructive tool is refused without its confirm flag even when the client can elicit, and nobody is asked', async () => {
    const {client, elicitations} = await connect()
    try {
      const refused = await callTool(client, 'delete_postgres_cluster', {name: 'drop-db', namespace})
      assert.equal(refused.isError, true)
      assert.match(textOf(refused), /^REFUSED: delete_postgres_cluster did not run: .*the client cannot ask the human, and confirm_deletion was not true/)
      assert.match(textOf(refused), /"confirm_deletion":true/)
      assert.equal(elicitations(), 0, 'no elicitation request may be sent in stateless mode')
      assert.ok(await getObject('postgresql.cnpg.io/v1', 'Cluster', namespace, 'drop-db'), 'the refused call changed nothing')

      const deleted = await callTool(client, 'delete_postgres_cluster', {name: 'drop-db', namespace, confirm_deletion: true})
      assert.equal(deleted.isError, undefined, textOf(deleted))
      assert.match(textOf(deleted), /confirmed with confirm_deletion=true/)
      assert.equal(elicitations(), 0)
      const gone = await getObject('postgresql.cnpg.io/v1', 'Cluster', namespace, 'drop-db')
      assert.ok(!gone || gone.metadata.deletionTimestamp, 'the confirmed call deleted the cluster')
    } finally {
      await client.close()
    }
  })

  test('resources/subscribe is refused with a clear error', async () => {
    const {client} = await connect()
    try {
      await assert.rejects(client.subscribeResource({uri: `cnpg://${namespace}/clusters/keep-db`}), /not available: this server runs in stateless mode/)
      const read = await client.readResource({uri: `cnpg://${namespace}/clusters/keep-db`})
      assert.match(JSON.stringify(read.contents), /keep-db/)
    } finally {
      await client.close()
    }
  })

  test('--stateless with stdio is refused', async () => {
    const {spawnSync} = await import('node:child_process')
    const {kmcpCommand} = await import('../support/mcp.ts')
    const cmd = kmcpCommand('serve', '--stateless', '--kubeconfig', harness().kubeconfigPath)
    const result = spawnSync(cmd.command, cmd.args, {encoding: 'utf8', timeout: 30_000, input: ''})
    assert.equal(result.status, 1)
    assert.match(result.stderr, /--stateless applies to --transport http only/)
  })
})
