// Shared MCP sessions on a real Redis Cluster (3 masters on loopback): two replicas behind HAProxy
// serve one session alternately, an elicitation is answered and a subscription is notified through
// the other replica (pub/sub across the Cluster), the session's keys all sit in one slot, named by
// its hash tag, and a call on a killed replica is reported failed by the other one (in-flight
// records, event replay).
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {createNamespace, deleteNamespace, harness, kubeRequest, waitFor} from '../support/kube.ts'
import {haproxyMissing} from '../support/haproxy.ts'
import {textOf, type HttpServerProcess} from '../support/mcp.ts'
import {redisClusterMissing, startRedisCluster, type TestRedisCluster} from '../support/redis-cluster.ts'
import {connectThroughBalancer, startLoadBalancer, startReplicas, type BalancedClient, type LoadBalancer} from './support.ts'
import {elicitationAnsweredViaAnotherReplica, subscriptionNotifiedOfChangeViaAnotherReplica} from './scenarios.ts'

describe('replicas sharing sessions through a Redis Cluster, behind HAProxy', {skip: redisClusterMissing() ?? haproxyMissing()}, () => {
  let cluster: TestRedisCluster
  let replicas: HttpServerProcess[]
  let lb: LoadBalancer
  let ns: string
  let client: Client
  let transport: StreamableHTTPClientTransport
  let session: BalancedClient

  before(async () => {
    ns = await createNamespace('replicas-cluster')
    cluster = await startRedisCluster(3)
    replicas = await startReplicas(2, {kubeconfig: harness().kubeconfigFor('admin'), redisUrl: cluster.url})
    lb = await startLoadBalancer(replicas)
    ;(session = await connectThroughBalancer(lb, 'kmcp-cluster-tests'))
    ;({client, transport} = session)
  })

  after(async () => {
    await client?.close().catch(() => undefined)
    await lb?.stop()
    await Promise.all((replicas ?? []).map((r) => r.stop('SIGKILL')))
    await cluster?.stop()
    if (ns) await deleteNamespace(ns)
  })

  test('one session served by both replicas, its keys in one Cluster slot', async () => {
    const from = lb.served.length
    for (let i = 0; i < 2; i++) {
      assert.ok((await client.listTools()).tools.some((t) => t.name === 'list_postgres_clusters'))
      const result = (await client.callTool({name: 'list_postgres_clusters', arguments: {namespace: ns}})) as CallToolResult
      assert.notEqual(result.isError, true, textOf(result))
    }
    const posts = lb.served.slice(from).filter((s) => s.method === 'POST')
    assert.ok(posts.every((s) => s.status === 200), JSON.stringify(posts))
    assert.deepEqual(new Set(posts.map((s) => s.backend)), new Set(['replica-1', 'replica-2']))
    assert.ok(replicas.some((r) => r.stderr().includes('MCP session rebuilt from redis')), 'a replica rebuilt the session from the Cluster')
    const sessionId = transport.sessionId!
    const record = cluster.cli('GET', `kmcp:mcp:session:{${sessionId}}`)
    assert.match(record, /"initialize"/, 'the session record is stored in the Cluster')
    assert.equal(cluster.cli('CLUSTER', 'KEYSLOT', `kmcp:mcp:session:{${sessionId}}:inflight`), cluster.cli('CLUSTER', 'KEYSLOT', sessionId))
    // Other keys (caps, replicas) live in slots of their own, on whichever masters own them.
    assert.notEqual(cluster.cli('CLUSTER', 'KEYSLOT', 'kmcp:mcp:{caps}:sessions'), cluster.cli('CLUSTER', 'KEYSLOT', sessionId))
  })

  test('a destructive call is confirmed through elicitation answered via the other replica', async () => {
    await elicitationAnsweredViaAnotherReplica(lb, session, ns)
  })

  test('a resource subscription is notified of a change made through the other replica', async () => {
    const {uri, subscribe} = await subscriptionNotifiedOfChangeViaAnotherReplica(lb, session, ns)
    assert.equal(cluster.cli('HGET', `kmcp:mcp:session:{${transport.sessionId}}:subscriptions`, uri), subscribe.replica)
  })

  test('DELETE through one replica ends the session on both', async () => {
    const sessionId = transport.sessionId!
    await transport.terminateSession()
    await waitFor(async () => {
      const statuses = await Promise.all(replicas.map(async (r) => (await fetch(r.url, {method: 'POST', headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId}, body: JSON.stringify({jsonrpc: '2.0', id: 9, method: 'tools/list', params: {}})})).status))
      return statuses.every((status) => status === 404)
    }, {timeoutMs: 5000, message: 'both replicas answer 404 for the deleted session'})
    assert.equal(cluster.cli('EXISTS', `kmcp:mcp:session:{${sessionId}}`), '0')
  })

  test('the replica running a call is killed: the other one reports the call failed and serves the session on', async () => {
    const survivorClient = new Client({name: 'kmcp-cluster-tests', version: '1.0.0'})
    await survivorClient.connect(new StreamableHTTPClientTransport(new URL(lb.url), {fetch: lb.fetch}))
    const from = lb.served.length
    const failure = survivorClient.callTool({name: 'create_postgres_cluster', arguments: {name: 'orphan', namespace: ns, instances: 1, wait: true, timeout: 60}}, undefined, {onprogress: () => undefined, timeout: 60_000}).then(
      () => undefined,
      (error: Error) => error,
    )
    await waitFor(async () => (await kubeRequest('admin', 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${ns}/clusters/orphan`)).status === 200, {message: 'the cluster was created'})
    await waitFor(() => lb.served.slice(from).some((s) => s.rpc === 'tools/call'), {message: 'the call reached a replica'})
    const runner = lb.served.slice(from).find((s) => s.rpc === 'tools/call')!.backend
    const victim = replicas[Number(runner.slice('replica-'.length)) - 1]
    await victim.stop('SIGKILL')
    const error = await failure
    assert.ok(error, 'the call must not succeed')
    assert.match(error.message, /replica running this request stopped[\s\S]*may or may not have taken effect/)
    assert.ok((await survivorClient.listTools()).tools.length > 0)
    await survivorClient.close()
  })
})
