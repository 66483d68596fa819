import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {createNamespace, harness} from '../support/kube.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {BACKEND_HEADER, haproxyMissing, startHaproxy, type TestHaproxy} from '../support/haproxy.ts'
import {callTool, startHttpServer, textOf, type HttpServerProcess} from '../support/mcp.ts'

const missing = haproxyMissing()

describe('two kmcp replicas behind a real HAProxy (round robin, no stickiness)', {skip: missing}, () => {
  const replicas: HttpServerProcess[] = []
  let proxy: TestHaproxy
  let namespace: string

  before(async () => {
    namespace = await createNamespace('lb')
    await makeHealthyCluster(namespace, 'lb-db', {instances: 1})
    // Stateless replicas: until sessions are shared, that is what serves one client from both.
    for (let i = 0; i < 2; i++) replicas.push(await startHttpServer({kubeconfig: harness().kubeconfigPath, extraArgs: ['--stateless']}))
    proxy = await startHaproxy(replicas.map((r, i) => ({name: `replica-${i + 1}`, port: Number(new URL(r.url).port)})))
  })

  after(async () => {
    await proxy?.stop()
    for (const replica of replicas) await replica.stop('SIGKILL')
  })

  test('plain requests alternate between the replicas, as the header and the proxy log both show', async () => {
    const headerSays: string[] = []
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${proxy.baseUrl}/healthz`)
      assert.equal(response.status, 200)
      assert.deepEqual(await response.json(), {status: 'ok'})
      headerSays.push(response.headers.get(BACKEND_HEADER) ?? '')
    }
    assert.deepEqual(new Set(headerSays), new Set(['replica-1', 'replica-2']))
    for (let i = 1; i < headerSays.length; i++) assert.notEqual(headerSays[i], headerSays[i - 1], `request ${i} went to the same replica as the one before: ${headerSays.join(', ')}`)
    // HAProxy logs a request when it is done: wait for the last line.
    const deadline = Date.now() + 5000
    while (proxy.served().filter((s) => s.path === '/healthz').length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const logged = proxy.served().filter((s) => s.path === '/healthz')
    assert.deepEqual(logged.map((s) => s.backend), headerSays)
    assert.ok(logged.every((s) => s.status === 200 && s.method === 'GET'))
  })

  test('a stateless MCP client through the proxy is served by both replicas', async () => {
    const client = new Client({name: 'kmcp-lb-test', version: '1.0.0'})
    const before = proxy.served().length
    await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.baseUrl}/mcp`)))
    try {
      assert.ok((await client.listTools()).tools.length > 10)
      for (let i = 0; i < 4; i++) {
        const result = await callTool(client, 'list_postgres_clusters', {namespace})
        assert.equal(result.isError, undefined, textOf(result))
        assert.match(textOf(result), /lb-db/)
      }
    } finally {
      await client.close()
    }
    const deadline = Date.now() + 5000
    while (proxy.served().slice(before).filter((s) => s.method === 'POST').length < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const posts = proxy.served().slice(before).filter((s) => s.path === '/mcp' && s.method === 'POST')
    assert.ok(posts.length >= 7, `expected initialize, initialized, tools/list and 4 calls; the proxy logged ${JSON.stringify(posts)}`)
    assert.ok(posts.every((s) => s.status === 200 || s.status === 202), JSON.stringify(posts))
    assert.deepEqual(new Set(posts.map((s) => s.backend)), new Set(['replica-1', 'replica-2']))
  })
})
