// Three `kmcp serve` replicas share one redis-server behind the real HAProxy (round robin, no
// stickiness): a session's requests land on different replicas and every MCP feature keeps working, a replica killed
// mid-call leaves an error (not silence) for that call, and Redis outages are survived.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {createNamespace, deleteNamespace, harness, kubeRequest, waitFor} from '../support/kube.ts'
import {healthyClusterStatus, setClusterStatus} from '../support/operator.ts'
import {textOf, type HttpServerProcess} from '../support/mcp.ts'
import {BACKEND_HEADER, haproxyMissing} from '../support/haproxy.ts'
import {startRedis, type TestRedis} from '../support/redis.ts'
import {backendName, connectThroughBalancer, haproxyLogged, replicaIdOf, startLoadBalancer, startReplicas, type BalancedClient, type LoadBalancer} from './support.ts'
import {elicitationAnsweredViaAnotherReplica, subscriptionNotifiedOfChangeViaAnotherReplica} from './scenarios.ts'

const CNPG = '/apis/postgresql.cnpg.io/v1'

describe('replicas sharing sessions through Redis, behind HAProxy', {skip: haproxyMissing()}, () => {
  let redis: TestRedis
  let replicas: HttpServerProcess[]
  let lb: LoadBalancer
  let ns: string
  let client: Client
  let clientTransport: StreamableHTTPClientTransport
  let session: BalancedClient
  let updates: string[]

  before(async () => {
    ns = await createNamespace('replicas')
    // Append-only file: the Redis restart test expects what Redis held to be back.
    redis = await startRedis({persistent: true})
    replicas = await startReplicas(3, {kubeconfig: harness().kubeconfigFor('admin'), redisUrl: redis.url})
    lb = await startLoadBalancer(replicas)
    ;(session = await connectThroughBalancer(lb, 'kmcp-replica-tests'))
    ;({client, transport: clientTransport, updates} = session)
  })

  after(async () => {
    await client?.close().catch(() => undefined)
    await lb?.stop()
    await Promise.all((replicas ?? []).map((r) => r.stop('SIGKILL')))
    await redis?.stop()
    if (ns) await deleteNamespace(ns)
  })

  test('consecutive requests of one session alternate replicas: tools/list and calls work on each', async () => {
    const before = lb.served.length
    for (let i = 0; i < 3; i++) {
      const tools = await client.listTools()
      assert.ok(tools.tools.some((t) => t.name === 'list_postgres_clusters'))
      const result = (await client.callTool({name: 'list_postgres_clusters', arguments: {namespace: ns}})) as CallToolResult
      assert.notEqual(result.isError, true, textOf(result))
    }
    const posts = lb.served.slice(before).filter((s) => s.method === 'POST')
    assert.ok(posts.every((s) => s.status === 200), JSON.stringify(posts))
    for (let i = 1; i < posts.length; i++) assert.notEqual(posts[i].backend, posts[i - 1].backend, `consecutive requests went to one replica: ${JSON.stringify(posts)}`)
    assert.deepEqual(new Set(posts.map((s) => s.backend)), new Set(replicas.map((_, i) => backendName(i))), `every replica served the session: ${JSON.stringify(posts)}`)
    // HAProxy's backend is the kmcp process it names...
    for (const post of posts) assert.equal(post.replica, replicaIdOf(replicas[Number(post.backend.slice('replica-'.length)) - 1]))
    // ...and HAProxy's log tells the same story as its headers (every POST of the session so far, in order).
    const postsSent = lb.served.filter((s) => s.method === 'POST').map((s) => s.backend)
    const postsLogged = (await haproxyLogged(lb, postsSent.length)).filter((s) => s.method === 'POST' && s.path === '/mcp')
    assert.deepEqual(postsLogged.map((s) => s.backend), postsSent)
    assert.ok(replicas.some((r) => r.stderr().includes('MCP session rebuilt from redis')), 'a replica rebuilt the session from Redis')
  })

  test('a destructive call is confirmed through elicitation answered via another replica', async () => {
    await elicitationAnsweredViaAnotherReplica(lb, session, ns)
  })

  test('progress notifications of a wait reach the client', async () => {
    const progress: string[] = []
    const pending = client.callTool({name: 'create_postgres_cluster', arguments: {name: 'waited', namespace: ns, instances: 2, wait: true, timeout: 30}}, undefined, {onprogress: (p) => void progress.push(p.message ?? ''), timeout: 60_000})
    await waitFor(async () => (await kubeRequest('admin', 'GET', `${CNPG}/namespaces/${ns}/clusters/waited`)).status === 200, {message: 'the cluster was created'})
    await setClusterStatus(ns, 'waited', {phase: 'Setting up primary', instances: 2, readyInstances: 0})
    await waitFor(() => progress.some((m) => m.includes('phase: Setting up primary')), {message: `progress reported the phase (got ${JSON.stringify(progress)})`})
    await setClusterStatus(ns, 'waited', healthyClusterStatus('waited', {instances: 2}))
    const result = (await pending) as CallToolResult
    assert.match(textOf(result), /reached the desired state/)
  })

  test('a resource subscription is notified of a change made through another replica', async () => {
    const {uri} = await subscriptionNotifiedOfChangeViaAnotherReplica(lb, session, ns)
    await client.unsubscribeResource({uri})
  })

  test('Last-Event-ID through HAProxy to another replica replays what the client missed, then the rest of the stream', async () => {
    const post = (headers: Record<string, string>, body: unknown, signal?: AbortSignal) => lb.fetch(lb.url, {method: 'POST', headers, signal, body: JSON.stringify(body)})
    const headers: Record<string, string> = {'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25'}
    const init = await post(headers, {jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'raw', version: '1'}}})
    await init.text()
    headers['mcp-session-id'] = init.headers.get('mcp-session-id')!
    await (await post(headers, {jsonrpc: '2.0', method: 'notifications/initialized'})).text()
    const abort = new AbortController()
    const call = await post(headers, {jsonrpc: '2.0', id: 2, method: 'tools/call', params: {name: 'create_postgres_cluster', arguments: {name: 'resumed', namespace: ns, instances: 1, wait: true, timeout: 30}, _meta: {progressToken: 'p1'}}}, abort.signal)
    assert.equal(call.headers.get('content-type'), 'text/event-stream')
    const first = await readSse(call.body!, (text) => /^id: /m.test(text))
    const lastEventId = /^id: (.+)$/m.exec(first)![1]
    abort.abort()
    await waitFor(async () => (await kubeRequest('admin', 'GET', `${CNPG}/namespaces/${ns}/clusters/resumed`)).status === 200, {message: 'the cluster was created'})
    await setClusterStatus(ns, 'resumed', {phase: 'Setting up primary', instances: 1, readyInstances: 0})
    await new Promise((r) => setTimeout(r, 1500))
    // Reconnect while the call still waits; round robin sends the GET to the next replica, which
    // replays the missed progress, then forwards the result the call's replica writes.
    const resumed = await lb.fetch(lb.url, {headers: {accept: 'text/event-stream', 'mcp-session-id': headers['mcp-session-id'], 'mcp-protocol-version': '2025-11-25', 'last-event-id': lastEventId}})
    assert.equal(resumed.status, 200)
    assert.notEqual(resumed.headers.get(BACKEND_HEADER), call.headers.get(BACKEND_HEADER), 'HAProxy sent the reconnection to another replica')
    assert.notEqual(resumed.headers.get('x-kmcp-replica'), call.headers.get('x-kmcp-replica'))
    const replayed = readSse(resumed.body!, (text) => text.includes('"id":2'))
    await new Promise((r) => setTimeout(r, 500))
    await setClusterStatus(ns, 'resumed', healthyClusterStatus('resumed', {instances: 1}))
    const text = await replayed
    assert.match(text, /notifications\/progress[^\n]*Setting up primary/, 'the progress sent while disconnected was replayed')
    assert.match(text, /reached the desired state/)
  })

  test('Redis stopped: /readyz fails and new sessions get 503 with Retry-After; restarted (append-only file): recovery and the session continues', async () => {
    const [a, b] = replicas
    // A session only replica A holds, to be rebuilt by replica B from what Redis kept over its restart.
    const pinned = new Client({name: 'kmcp-replica-tests', version: '1.0.0'})
    const pinnedTransport = new StreamableHTTPClientTransport(new URL(a.url))
    await pinned.connect(pinnedTransport)
    await redis.stop()
    const ready = await fetch(`${a.baseUrl}/readyz`)
    assert.equal(ready.status, 503)
    assert.match(JSON.stringify(await ready.json()), /session-store/)
    const refused = await fetch(lb.url, {method: 'POST', headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream'}, body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 't', version: '1'}}})})
    assert.equal(refused.status, 503)
    assert.ok(Number(refused.headers.get('retry-after')) > 0)
    assert.match(await refused.text(), /Session storage is unavailable/)
    // A stream cannot be opened either (its events live in Redis): 503, and the client retries.
    const stream = await fetch(a.url, {headers: {accept: 'text/event-stream', 'mcp-session-id': clientTransport.sessionId!, 'mcp-protocol-version': '2025-11-25'}})
    assert.equal(stream.status, 503, await stream.clone().text())
    assert.ok(Number(stream.headers.get('retry-after')) > 0)
    await stream.text()
    await redis.start()
    await waitFor(async () => (await fetch(`${a.baseUrl}/readyz`)).status === 200 && (await fetch(`${b.baseUrl}/readyz`)).status === 200, {timeoutMs: 20_000, message: 'the replicas are ready again'})
    // The session held in memory continues through both replicas...
    for (let i = 0; i < 2; i++) assert.ok((await client.listTools()).tools.length > 0)
    // ...and B rebuilds A's session from the record that survived the restart.
    const crossed = await fetch(b.url, {method: 'POST', headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': pinnedTransport.sessionId!, 'mcp-protocol-version': '2025-11-25'}, body: JSON.stringify({jsonrpc: '2.0', id: 7, method: 'tools/list', params: {}})})
    assert.equal(crossed.status, 200, await crossed.clone().text())
    assert.match(await crossed.text(), /list_postgres_clusters/)
    await pinned.close()
  })
  test('the replica running a call is killed: the call fails with a clear error, the session continues, nothing runs twice', async () => {
    const from = lb.served.length
    const pending = client.callTool({name: 'create_postgres_cluster', arguments: {name: 'orphan', namespace: ns, instances: 1, wait: true, timeout: 60}}, undefined, {onprogress: () => undefined, timeout: 60_000})
    const failure = pending.then(
      () => undefined,
      (error: Error) => error,
    )
    await waitFor(async () => (await kubeRequest('admin', 'GET', `${CNPG}/namespaces/${ns}/clusters/orphan`)).status === 200, {message: 'the cluster was created'})
    // The call's answer (an SSE stream) may start after the cluster exists: wait for its headers.
    await waitFor(() => lb.served.slice(from).some((s) => s.rpc === 'tools/call'), {message: 'the call reached a replica'})
    const runner = lb.served.slice(from).find((s) => s.rpc === 'tools/call')!.replica
    const victim = replicas.find((r) => replicaIdOf(r) === runner)!
    await victim.stop('SIGKILL')
    const error = await failure
    assert.ok(error, 'the call must not succeed')
    assert.match(error.message, /replica running this request stopped[\s\S]*may or may not have taken effect/)
    // The session goes on through the survivors.
    const tools = await client.listTools()
    assert.ok(tools.tools.length > 0)
    const survivors = replicas.filter((r) => r !== victim)
    for (const survivor of survivors) {
      const ran = survivor.stderr().split('\n').filter((line) => line.includes('"kind":"audit"') && line.includes('create_postgres_cluster') && line.includes('orphan') && !line.includes('replica_stopped'))
      assert.deepEqual(ran, [], 'no other replica ran the call again')
    }
    assert.equal(survivors.map((s) => s.stderr()).join('').split('"reason":"replica_stopped"').length - 1, 1, 'exactly one replica reported the orphaned call')
    replicas = survivors
  })

  test('DELETE through one replica ends the session on every replica', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(lb.url))
    const doomed = new Client({name: 'kmcp-replica-tests', version: '1.0.0'})
    await doomed.connect(transport)
    for (let i = 0; i < replicas.length; i++) await doomed.listTools()
    const sessionId = transport.sessionId!
    await transport.terminateSession()
    await waitFor(async () => {
      const statuses = await Promise.all(replicas.map(async (r) => (await fetch(r.url, {method: 'POST', headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId}, body: JSON.stringify({jsonrpc: '2.0', id: 9, method: 'tools/list', params: {}})})).status))
      return statuses.every((status) => status === 404)
    }, {timeoutMs: 5000, message: 'every replica answers 404 for the deleted session'})
    await doomed.close()
  })


  test('the replica watching a subscription is killed: another one takes the watch over', async () => {
    const uri = `cnpg://${ns}/clusters/watched`
    const from = lb.served.length
    await client.subscribeResource({uri})
    const watcher = replicas.find((r) => replicaIdOf(r) === lb.served.slice(from).find((s) => s.rpc === 'resources/subscribe')!.replica)!
    await watcher.stop('SIGKILL')
    replicas = replicas.filter((r) => r !== watcher)
    await waitFor(() => replicas.some((r) => r.stderr().includes('took over the resource subscriptions of a stopped replica')), {timeoutMs: 15_000, message: 'a survivor took the watch over'})
    await new Promise((r) => setTimeout(r, 1000))
    updates.length = 0
    const changed = (await client.callTool({name: 'resume_postgres_cluster', arguments: {name: 'watched', namespace: ns}})) as CallToolResult
    assert.notEqual(changed.isError, true, textOf(changed))
    await waitFor(() => updates.includes(uri), {timeoutMs: 15_000, message: `notifications/resources/updated for ${uri} after the takeover (got ${JSON.stringify(updates)})`})
  })
})

/** Reads an SSE body until `done(text so far)` holds (10 s at most), then cancels it; returns the text. */
async function readSse(body: ReadableStream<Uint8Array>, done: (text: string) => boolean): Promise<string> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  const timer = setTimeout(() => void reader.cancel(), 10_000)
  try {
    while (!done(text)) {
      const {value, done: ended} = await reader.read()
      if (ended) break
      text += decoder.decode(value, {stream: true})
    }
  } finally {
    clearTimeout(timer)
    void reader.cancel().catch(() => undefined)
  }
  assert.ok(done(text), `the stream ended without what was expected; got:\n${text}`)
  return text
}
