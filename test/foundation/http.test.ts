import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createNamespace, harness} from '../support/kube.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {callTool, connectHttp, startHttpServer, textOf, type HttpServerProcess} from '../support/mcp.ts'
import {kubeconfigThrough, startTcpProxy, type TcpProxy} from '../support/tcp-proxy.ts'

describe('kmcp serve --transport http', () => {
  let server: HttpServerProcess
  let proxy: TcpProxy
  let namespace: string

  before(async () => {
    namespace = await createNamespace('http')
    await makeHealthyCluster(namespace, 'web-db', {instances: 2})
    const api = new URL(harness().server)
    proxy = await startTcpProxy({host: api.hostname, port: Number(api.port)})
    server = await startHttpServer({kubeconfig: kubeconfigThrough(proxy)})
  })

  after(async () => {
    await server?.stop('SIGKILL')
    await proxy?.stop()
  })

  test('/healthz answers 200 without touching Kubernetes', async () => {
    const response = await fetch(`${server.baseUrl}/healthz`)
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), {status: 'ok'})
  })

  test('/readyz is 200 when the API server answers and 503 naming the failed check when it does not', async () => {
    // The first check also creates the Kubernetes client (loading client-node takes seconds from
    // TypeScript sources on a busy machine), so give it a few tries.
    let ready = await fetch(`${server.baseUrl}/readyz`)
    for (let attempt = 0; ready.status !== 200 && attempt < 10; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      ready = await fetch(`${server.baseUrl}/readyz`)
    }
    assert.equal(ready.status, 200)
    const body = (await ready.json()) as {ready: boolean; checks: Array<{name: string; ok: boolean}>}
    assert.equal(body.ready, true)
    assert.deepEqual(body.checks.map((c) => [c.name, c.ok]), [['kubernetes', true]])
    await proxy.stop()
    try {
      const notReady = await fetch(`${server.baseUrl}/readyz`)
      assert.equal(notReady.status, 503)
      const failed = (await notReady.json()) as {ready: boolean; checks: Array<{name: string; ok: boolean; error: string}>}
      assert.equal(failed.checks[0].name, 'kubernetes')
      assert.equal(failed.checks[0].ok, false)
      assert.match(failed.checks[0].error, /Could not reach the Kubernetes API server/)
    } finally {
      await proxy.start()
    }
    assert.equal((await fetch(`${server.baseUrl}/readyz`)).status, 200)
  })

  test('a real MCP client lists tools and calls one over Streamable HTTP', async () => {
    const client = await connectHttp(server.url)
    try {
      const {tools} = await client.listTools()
      assert.ok(tools.some((t) => t.name === 'get_cluster_status'))
      const result = await callTool(client, 'get_cluster_status', {name: 'web-db', namespace})
      assert.match(textOf(result), /Instances: 2\/2 ready/)
    } finally {
      await client.close()
    }
  })

  test('every session gets the same complete tool list (it is computed once and shared)', async () => {
    const first = await connectHttp(server.url)
    const second = await connectHttp(server.url)
    try {
      const [a, b] = await Promise.all([first.listTools(), second.listTools()])
      assert.ok(a.tools.length >= 20, `only ${a.tools.length} tools`)
      assert.deepEqual(b, a)
      for (const tool of a.tools) {
        assert.equal(tool.inputSchema.type, 'object', tool.name)
        assert.ok(tool.description && tool.annotations, tool.name)
      }
    } finally {
      await Promise.all([first.close(), second.close()])
    }
  })

  test('malformed JSON gets a JSON-RPC parse error and the server keeps serving', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream'},
      body: '{"jsonrpc": "2.0", "id": 1, "method": ',
    })
    assert.equal(response.status, 400)
    const body = (await response.json()) as {error: {code: number}}
    assert.equal(body.error.code, -32700)
    assert.equal((await fetch(`${server.baseUrl}/healthz`)).status, 200)
  })

  test('a request without a session that is not initialize is refused with a clear message', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream'},
      body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'tools/list'}),
    })
    assert.equal(response.status, 400)
    assert.match(((await response.json()) as {error: {message: string}}).error.message, /must be initialize/)
  })

  test('an unknown session id is a 404 telling the client to initialize again', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'not-a-session'},
      body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'tools/list'}),
    })
    assert.equal(response.status, 404)
  })
})
