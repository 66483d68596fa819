// A call is recorded as in flight in Redis before its tool runs (so that, should its replica die,
// another one reports it; nothing runs twice): while Redis holds writes back (CLIENT PAUSE WRITE)
// the tool does not run, and once the record is written it does; its answer removes the record. A
// Redis that does not answer at all holds a call 10 s at most (then it runs unrecorded, with a warning).
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {createNamespace, deleteNamespace, harness, kubeRequest, waitFor} from '../support/kube.ts'
import {textOf, type HttpServerProcess} from '../support/mcp.ts'
import {startRedis, type TestRedis} from '../support/redis.ts'
import {startReplicas} from './support.ts'

const CNPG = '/apis/postgresql.cnpg.io/v1'
const PAUSE_MS = 2000

describe('a tool call and its record in Redis', () => {
  let redis: TestRedis
  let server: HttpServerProcess
  let ns: string
  let client: Client
  let transport: StreamableHTTPClientTransport

  before(async () => {
    ns = await createNamespace('inflight')
    redis = await startRedis()
    ;[server] = await startReplicas(1, {kubeconfig: harness().kubeconfigFor('admin'), redisUrl: redis.url})
    client = new Client({name: 'kmcp-inflight-tests', version: '1.0.0'})
    transport = new StreamableHTTPClientTransport(new URL(server.url))
    await client.connect(transport)
  })

  after(async () => {
    await client?.close().catch(() => undefined)
    await server?.stop('SIGKILL')
    await redis?.stop()
    if (ns) await deleteNamespace(ns)
  })

  test('the tool runs only once its call is recorded in Redis, and the answer ends the record', async () => {
    const inFlight = `kmcp:mcp:session:{${transport.sessionId}}:inflight`
    await redis.command('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE')
    const started = Date.now()
    const call = client.callTool({name: 'create_postgres_cluster', arguments: {name: 'held', namespace: ns, instances: 1}}) as Promise<CallToolResult>
    await new Promise((r) => setTimeout(r, PAUSE_MS / 2))
    assert.equal((await kubeRequest('admin', 'GET', `${CNPG}/namespaces/${ns}/clusters/held`)).status, 404, 'the tool did not run while its record could not be written')
    const result = await call
    assert.notEqual(result.isError, true, textOf(result))
    assert.ok(Date.now() - started >= PAUSE_MS - 200, `answered after the pause (${Date.now() - started} ms)`)
    assert.equal((await kubeRequest('admin', 'GET', `${CNPG}/namespaces/${ns}/clusters/held`)).status, 200)
    await waitFor(async () => (await redis.command('HLEN', inFlight)) === '0', {timeoutMs: 5000, message: 'the answer removed the in-flight record'})
  })

  test('a Redis that does not answer holds a call 10 s at most: then the tool runs, with a warning', async () => {
    await redis.command('CLIENT', 'PAUSE', '14000', 'WRITE')
    try {
      const started = Date.now()
      const result = (await client.callTool({name: 'create_postgres_cluster', arguments: {name: 'unrecorded', namespace: ns, instances: 1}})) as CallToolResult
      const waited = Date.now() - started
      assert.notEqual(result.isError, true, textOf(result))
      assert.ok(waited >= 9500 && waited < 13_500, `ran after the 10 s bound, before Redis answered again (${waited} ms)`)
      assert.equal((await kubeRequest('admin', 'GET', `${CNPG}/namespaces/${ns}/clusters/unrecorded`)).status, 200)
      assert.match(server.stderr(), /a tool call was not recorded in redis within 10 s; it runs without being reported/)
    } finally {
      await redis.command('CLIENT', 'UNPAUSE')
    }
  })
})
