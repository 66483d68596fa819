// Shared by the end-to-end tests on the real node: the CloudNativePG operator running real
// PostgreSQL (test/support/real-node.ts). Every step goes through kmcp's MCP tools (a real SDK
// client over stdio) and every effect is checked in PostgreSQL itself with psql inside the run's
// network namespace. Each test file owns one namespace of REAL_NODE_NAMESPACES.
import assert from 'node:assert/strict'
import type {TestContext} from 'node:test'
import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {harness, kubeRequest} from '../support/kube.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {NODE_SERVE_ARGS, createClusterArgsForNode, psql, realNode, requireRealNode, skipUnlessRealNode} from '../support/real-node.ts'

export type PsqlTarget = Parameters<typeof psql>[2]
export type PsqlResult = Awaited<ReturnType<typeof psql>>

/** Why the real node cannot be used, or undefined when it can. */
export async function realNodeUnavailable(): Promise<string | undefined> {
  const info = realNode()
  return info.available ? undefined : info.reason
}

/** Calls t.skip(reason) and returns false when the real node is not running. */
export async function skipWithoutNode(t: TestContext): Promise<boolean> {
  return skipUnlessRealNode(t)
}

export async function nodeInfo() {
  return requireRealNode()
}

/** The tool arguments that make create_postgres_cluster produce a cluster that fits the node. */
export async function createArgsForNode(name: string, namespace: string, instances: number): Promise<Record<string, unknown>> {
  return createClusterArgsForNode(name, namespace, {instances})
}

/** psql -At inside the node's network namespace (test/support/real-node.ts). */
export function sql(namespace: string, query: string, target: PsqlTarget): Promise<PsqlResult> {
  return psql(namespace, query, {timeoutMs: 30_000, ...target})
}

/** Runs a query that must succeed; returns its trimmed output (psql -At style, one row per line). */
export async function sqlOk(namespace: string, query: string, target: PsqlTarget): Promise<string> {
  const result = await sql(namespace, query, target)
  assert.equal(result.code, 0, `psql on ${target.host} as ${target.user} failed: ${query}\n${result.stderr}${result.stdout}`)
  return result.stdout.trim()
}

/** Retries a query until it succeeds (services, DNS and pods settle a moment after "ready"). */
export async function sqlEventually(namespace: string, query: string, target: PsqlTarget, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let last: PsqlResult | undefined
  for (;;) {
    last = await sql(namespace, query, target)
    if (last.code === 0) return last.stdout.trim()
    if (Date.now() > deadline) assert.fail(`psql on ${target.host} as ${target.user} kept failing for ${timeoutMs / 1000}s: ${query}\n${last.stderr}${last.stdout}`)
    await sleep(1000)
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A kmcp stdio session for the harness admin: the tools act with full rights in the test namespace. */
export function connectAdmin(): Promise<StdioSession> {
  return connectStdio({kubeconfig: harness().kubeconfigFor('admin'), extraArgs: NODE_SERVE_ARGS})
}

/**
 * A tool call that may wait for the operator: kmcp reports progress while it waits, and the client
 * keeps the call open as long as progress arrives (the SDK's default gives up after 60 s).
 */
export async function callWaiting(client: Client, tool: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({name: tool, arguments: args}, undefined, {onprogress: () => {}, resetTimeoutOnProgress: true, timeout: 60_000, maxTotalTimeout: 600_000})) as CallToolResult
}

export const call = (session: StdioSession, tool: string, args: Record<string, unknown>) => callWaiting(session.client, tool, args)

export async function ok(session: StdioSession, tool: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const result = await call(session, tool, args)
  assert.notEqual(result.isError, true, `${tool} failed: ${textOf(result)}`)
  return result
}

/** Polls get_cluster_status until its text matches `pattern`; returns the matching text. */
export async function untilStatus(session: StdioSession, namespace: string, name: string, pattern: RegExp, timeoutMs = 240_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const text = textOf(await callTool(session.client, 'get_cluster_status', {name, namespace, detail_level: 'detailed'}))
    if (pattern.test(text)) return text
    if (Date.now() > deadline) assert.fail(`get_cluster_status never matched ${pattern} within ${timeoutMs / 1000}s; last answer:\n${text}`)
    await sleep(2000)
  }
}

/** The application user's connection through the -rw service, password from get_connection_info. */
export async function appConnection(session: StdioSession, namespace: string, cluster: string, service: 'rw' | 'ro' | 'r' = 'rw'): Promise<PsqlTarget> {
  const info = (await ok(session, 'get_connection_info', {cluster_name: cluster, namespace, include_password: true})).structuredContent as {username: string; database: string; password?: string; port: number}
  assert.ok(info.password, 'get_connection_info returned the application password')
  return {host: `${cluster}-${service}.${namespace}.svc.cluster.local`, user: info.username, password: info.password, database: info.database, port: info.port}
}

// any: tests read arbitrary fields of the stored objects; assertions check them.
export async function getJson(path: string): Promise<any> {
  const res = await kubeRequest('admin', 'GET', path)
  return res.status === 404 ? undefined : res.body
}

export const clusterPath = (ns: string, name: string) => `/apis/postgresql.cnpg.io/v1/namespaces/${ns}/clusters/${name}`

export async function pods(ns: string, cluster: string): Promise<any[]> {
  return (await getJson(`/api/v1/namespaces/${ns}/pods?labelSelector=cnpg.io/cluster=${cluster},cnpg.io/podRole=instance`))?.items ?? []
}

export async function pvcs(ns: string, cluster: string): Promise<any[]> {
  return (await getJson(`/api/v1/namespaces/${ns}/persistentvolumeclaims?labelSelector=cnpg.io/cluster=${cluster}`))?.items ?? []
}

/** The IP of an instance's pod: to reach one instance, whatever the services route to. */
export async function podIp(ns: string, instance: string): Promise<string> {
  const pod = await getJson(`/api/v1/namespaces/${ns}/pods/${instance}`)
  assert.ok(pod?.status?.podIP, `pod ${instance} has an IP`)
  return pod.status.podIP
}

/** Seconds since `start`, for the timings written to docs/benchmarks.md. */
export function timer(label: string): () => number {
  const start = Date.now()
  return () => {
    const seconds = (Date.now() - start) / 1000
    process.stderr.write(`real-node timing: ${label}: ${seconds.toFixed(1)}s\n`)
    return seconds
  }
}

/** Deletes everything in the namespace that the operator made, so the next run starts clean. */
export async function deleteClusters(ns: string): Promise<void> {
  await kubeRequest('admin', 'DELETE', `/apis/postgresql.cnpg.io/v1/namespaces/${ns}/clusters`)
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs / 1000}s waiting for ${what}`)
    await sleep(1000)
  }
}
