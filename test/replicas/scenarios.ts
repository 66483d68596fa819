// What every replica set-up must show, whatever Redis topology the sessions live in (one
// redis-server: sessions.test.ts; a Redis Cluster: cluster.test.ts). Each scenario pins the
// requests that matter to two different replicas through HAProxy and checks the effect where it
// happens (the API server, the client's notifications), then returns the requests for more checks.
import assert from 'node:assert/strict'
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {kubeRequest, waitFor} from '../support/kube.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {textOf} from '../support/mcp.ts'
import {backendName, type BalancedClient, type LoadBalancer, type ServedThrough} from './support.ts'

const CNPG = '/apis/postgresql.cnpg.io/v1'

/** A destructive call on one replica, confirmed by the human's answer sent to the other one. */
export async function elicitationAnsweredViaAnotherReplica(lb: LoadBalancer, session: BalancedClient, ns: string): Promise<{call: ServedThrough; answer: ServedThrough}> {
  await makeHealthyCluster(ns, 'doomed', {instances: 1})
  const from = lb.served.length
  lb.routeNext('tools/call', backendName(0))
  lb.routeNext('response', backendName(1))
  const result = (await session.client.callTool({name: 'delete_postgres_cluster', arguments: {name: 'doomed', namespace: ns}})) as CallToolResult
  assert.notEqual(result.isError, true, textOf(result))
  assert.match(textOf(result), /confirmed by the human/)
  assert.match(session.questions.at(-1) ?? '', /Deleting cluster .*doomed/)
  const call = lb.served.slice(from).find((s) => s.rpc === 'tools/call')!
  const answer = lb.served.slice(from).find((s) => s.rpc === 'response')!
  assert.notEqual(answer.backend, call.backend, 'the answer went to another replica than the one waiting for it')
  assert.notEqual(answer.replica, call.replica)
  assert.equal((await kubeRequest('admin', 'GET', `${CNPG}/namespaces/${ns}/clusters/doomed`)).status, 404)
  return {call, answer}
}

/** A subscription made on one replica is notified of a change made through the other one. */
export async function subscriptionNotifiedOfChangeViaAnotherReplica(lb: LoadBalancer, session: BalancedClient, ns: string): Promise<{uri: string; subscribe: ServedThrough}> {
  await makeHealthyCluster(ns, 'watched', {instances: 1})
  const uri = `cnpg://${ns}/clusters/watched`
  const from = lb.served.length
  lb.routeNext('resources/subscribe', backendName(0))
  lb.routeNext('tools/call', backendName(1))
  await session.client.subscribeResource({uri})
  // Give the watch a moment to start, then change the cluster through the other replica.
  await new Promise((r) => setTimeout(r, 500))
  const changed = (await session.client.callTool({name: 'hibernate_postgres_cluster', arguments: {name: 'watched', namespace: ns, confirm: true}})) as CallToolResult
  assert.notEqual(changed.isError, true, textOf(changed))
  await waitFor(() => session.updates.includes(uri), {timeoutMs: 15_000, message: `notifications/resources/updated for ${uri} (got ${JSON.stringify(session.updates)})`})
  const subscribe = lb.served.slice(from).find((s) => s.rpc === 'resources/subscribe')!
  assert.notEqual(lb.served.slice(from).find((s) => s.rpc === 'tools/call')!.backend, subscribe.backend, 'the change went through another replica than the watch')
  return {uri, subscribe}
}
