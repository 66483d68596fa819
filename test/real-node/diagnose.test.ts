// The proof of the diagnosis tools on the real node: the real CNPG operator and real PostgreSQL.
// A healthy two-instance cluster shows its live status (primary, streaming replica, lag); its
// replica's pod is deleted, the live status shows the replica missing and then the lag closing;
// list_cluster_events returns that pod's events; a second cluster broken on purpose with a bad
// postgresql parameter is diagnosed from the PostgreSQL error record get_cluster_logs returns.
// Without the real node (not root, KMCP_REAL_NODE=0, or the node harness absent) every test
// skips with the reason.
import {after, before, describe, test, type TestContext} from 'node:test'
import assert from 'node:assert/strict'
import {harness, kubeRequest, waitFor} from '../support/kube.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'

const NAMESPACE = 'e2e-diagnose'
const HEALTHY = 'diag'
const BROKEN = 'diag-bad'
const CNPG = `/apis/postgresql.cnpg.io/v1/namespaces/${NAMESPACE}/clusters`

type RealNodeModule = {
  NODE_SERVE_ARGS: string[]
  skipUnlessRealNode(t: TestContext): boolean
  clusterManifestForNode(name: string, options: Record<string, unknown>): Record<string, unknown>
  psql(namespace: string, sql: string, options: {host: string; user: string; password: string; database: string; port?: number}): Promise<{code: number; stdout: string; stderr: string}>
}

// Loaded lazily so that this file reports a skip (not an import failure) on a branch without the node harness.
const realNode: RealNodeModule | undefined = await import('../support/real-node.ts' as string).catch(() => undefined)

function skipUnlessNode(t: TestContext): boolean {
  if (!realNode) {
    t.skip('the real-node harness (test/support/real-node.ts) is not part of this checkout')
    return false
  }
  return realNode.skipUnlessRealNode(t)
}

interface LiveInstance {
  instance: string
  role: string
  current_lsn?: string
  problem?: string
  replication?: {state?: string; lag_bytes?: number}
}
interface LiveStatus {
  instances: LiveInstance[]
  missing_instances: string[]
  not_streaming: string[]
  unavailable?: string
}

describe('diagnosing clusters on the real node (CNPG v1.30.0, PostgreSQL)', () => {
  let admin: StdioSession | undefined

  async function call(tool: string, args: Record<string, unknown>) {
    const result = await callTool(admin!.client, tool, {namespace: NAMESPACE, ...args})
    assert.notEqual(result.isError, true, `${tool}: ${textOf(result)}`)
    return {text: textOf(result), structured: result.structuredContent as Record<string, unknown>}
  }

  /** The last live status seen, for failure messages. */
  let lastLive = ''

  async function live(): Promise<LiveStatus> {
    const {structured, text} = await call('get_cluster_status', {name: HEALTHY, detail_level: 'detailed', format: 'json'})
    const status = structured.live_status as LiveStatus
    lastLive = JSON.stringify(status)
    assert.equal(status.unavailable, undefined, `live status: ${status.unavailable}\n${text}`)
    return status
  }

  /** waitFor, failing with the last live status seen. */
  // waitFor retries until the check gives a truthy value, so what it returns is never undefined.
  async function untilLive<T>(check: () => Promise<T | undefined>, timeoutMs: number, message: string): Promise<T> {
    try {
      return (await waitFor(check, {timeoutMs, intervalMs: 1000, message})) as T
    } catch (error) {
      throw new Error(`${(error as Error).message}; last live status: ${lastLive}`, {cause: error})
    }
  }

  async function createCluster(name: string, options: {instances: number; parameters?: Record<string, string>}): Promise<void> {
    const manifest = realNode!.clusterManifestForNode(name, {namespace: NAMESPACE, instances: options.instances}) as {metadata?: object; spec: {instances?: number; postgresql?: {parameters?: Record<string, string>}}}
    manifest.spec.instances = options.instances
    if (options.parameters) manifest.spec.postgresql = {...manifest.spec.postgresql, parameters: {...manifest.spec.postgresql?.parameters, ...options.parameters}}
    const res = await kubeRequest('admin', 'POST', CNPG, {...manifest, metadata: {...manifest.metadata, name, namespace: NAMESPACE}})
    assert.ok(res.status === 201 || res.status === 409, res.text)
  }

  before(async () => {
    if (!realNode) return
    admin = await connectStdio({kubeconfig: harness().kubeconfigFor('admin'), extraArgs: realNode?.NODE_SERVE_ARGS})
  })

  after(async () => {
    if (!admin) return
    for (const name of [HEALTHY, BROKEN]) await kubeRequest('admin', 'DELETE', `${CNPG}/${name}`)
    await admin.close()
  })

  /**
   * The live status needs the API server to reach the pods' IPs (pods/proxy). The node harness adds
   * no route from the machine to the pod network, so there it cannot: the instance managers are
   * then reported unreachable, and the live-status checks skip with that reason.
   */
  async function proxyUnreachable(): Promise<string | undefined> {
    const s = await live()
    const problems = s.instances.map((i) => i.problem).filter((p): p is string => Boolean(p))
    return s.instances.length > 0 && problems.length === s.instances.length && problems.every((p) => /not reachable/.test(p))
      ? `the API server cannot reach the pods through pods/proxy on this node harness (no route from the machine to the pod network): ${problems[0]}`
      : undefined
  }

  test('a healthy two-instance cluster is created on the node and reported healthy', {timeout: 900_000}, async (t) => {
    if (!skipUnlessNode(t)) return
    await createCluster(HEALTHY, {instances: 2})
    await waitFor(async () => {
      const {structured} = await call('get_cluster_status', {name: HEALTHY, format: 'json'})
      return structured.ready_instances === 2 && /healthy/i.test(String(structured.phase))
    }, {timeoutMs: 600_000, intervalMs: 5000, message: `cluster ${HEALTHY} never became healthy with 2 instances`})
  })

  test('live status shows the primary and a streaming replica with its lag', {timeout: 300_000}, async (t) => {
    if (!skipUnlessNode(t)) return
    const unreachable = await proxyUnreachable()
    if (unreachable) return t.skip(unreachable)
    const status = await untilLive(async () => {
      const s = await live()
      return s.instances.some((i) => i.role === 'replica' && i.replication?.state === 'streaming') ? s : undefined
    }, 120_000, 'the replica never showed as streaming')
    const primary = status.instances.find((i) => i.role === 'primary')
    assert.ok(primary?.current_lsn, 'the primary reports its current LSN')
    const replica = status.instances.find((i) => i.role === 'replica')!
    assert.equal(typeof replica.replication?.lag_bytes, 'number')
    assert.deepEqual(status.missing_instances, [])
  })

  let deletedReplica: string | undefined
  let proxyProblem: string | undefined

  test('the replica\'s pod deleted: list_cluster_events returns its events, get_cluster_logs the recreated instance\'s logs', {timeout: 900_000}, async (t) => {
    if (!skipUnlessNode(t)) return
    const {structured: before} = await call('get_cluster_status', {name: HEALTHY, detail_level: 'detailed', format: 'json'})
    const replica = (before.instance_names as string[]).find((name) => name !== before.current_primary)
    assert.ok(replica, 'a replica to break')
    proxyProblem = await proxyUnreachable()
    const deleted = await kubeRequest('admin', 'DELETE', `/api/v1/namespaces/${NAMESPACE}/pods/${replica}`, {gracePeriodSeconds: 0})
    assert.equal(deleted.status, 200, deleted.text)
    deletedReplica = replica
    // The kubelet's and scheduler's events of the deleted pod and of the one replacing it.
    const events = await waitFor(async () => {
      const {structured} = await call('list_cluster_events', {name: HEALTHY})
      const list = structured.events as Array<{object: string; reason: string}>
      return list.some((e) => e.object === `Pod/${replica}` && /Killing/.test(e.reason)) && list.some((e) => e.object === `Pod/${replica}` && /Started/.test(e.reason)) ? list : undefined
    }, {timeoutMs: 180_000, intervalMs: 2000, message: `no Killing and Started events of Pod/${replica}`})
    t.diagnostic(`events: ${events.slice(0, 8).map((e) => `${e.object} ${e.reason}`).join('; ')}`)
    const logs = await waitFor(async () => {
      const {structured} = await call('get_cluster_logs', {name: HEALTHY, instance: replica, logger: 'instance-manager', limit: 50})
      return (structured.entries as unknown[]).length > 0 ? structured : undefined
    }, {timeoutMs: 300_000, intervalMs: 5000, message: `no instance-manager logs from the recreated ${replica}`})
    t.diagnostic(`${(logs.entries as unknown[]).length} instance-manager log entries from the recreated ${replica}`)
  })

  test('live status shows the deleted replica missing, then streaming again with the lag closing', {timeout: 900_000}, async (t) => {
    if (!skipUnlessNode(t)) return
    if (proxyProblem) return t.skip(proxyProblem)
    const replica = deletedReplica
    assert.ok(replica, 'the previous test deleted a replica')
    // Seen as missing (no pod), unreachable or not streaming until the operator has recreated it.
    await untilLive(async () => {
      const s = await live()
      const row = s.instances.find((i) => i.instance === replica)
      return s.missing_instances.includes(replica) || s.not_streaming.includes(replica) || !row || Boolean(row.problem) || row.replication?.state === 'streaming'
    }, 60_000, `the live status never showed ${replica}`)
    // WAL written meanwhile, so there is a lag to close.
    const secret = await kubeRequest('admin', 'GET', `/api/v1/namespaces/${NAMESPACE}/secrets/${HEALTHY}-app`)
    const password = Buffer.from(secret.body.data.password, 'base64').toString()
    const written = await realNode!.psql(NAMESPACE, 'CREATE TABLE IF NOT EXISTS lag_probe AS SELECT g, repeat(md5(g::text), 8) AS filler FROM generate_series(1, 200000) g', {host: `${HEALTHY}-rw.${NAMESPACE}.svc.cluster.local`, user: 'app', password, database: 'app'})
    assert.equal(written.code, 0, written.stderr)
    const lags: number[] = []
    await untilLive(async () => {
      const s = await live()
      const row = s.instances.find((i) => i.instance === replica)
      if (row?.replication?.state !== 'streaming' || row.replication.lag_bytes === undefined) return false
      lags.push(row.replication.lag_bytes)
      return row.replication.lag_bytes === 0
    }, 600_000, `the lag of ${replica} never closed`)
    t.diagnostic(`lag of ${replica} in bytes, as seen: ${lags.join(', ')}`)
    assert.equal(lags.at(-1), 0)
  })

  test('a bad postgresql parameter: get_cluster_logs returns the PostgreSQL error record, list_cluster_events the pod events', {timeout: 900_000}, async (t) => {
    if (!skipUnlessNode(t)) return
    await createCluster(BROKEN, {instances: 1, parameters: {max_connections: 'lots'}})
    type Entry = {pod: string; postgres?: {severity: string; sqlstate?: string; message: string; hint?: string}}
    const found = await waitFor(async () => {
      const {structured} = await call('get_cluster_logs', {name: BROKEN, contains: 'max_connections', min_level: 'info'})
      const entries = structured.entries as Entry[]
      return entries.find((e) => /invalid value for parameter "max_connections": "lots"/.test(e.postgres?.message ?? '')) ?? undefined
    }, {timeoutMs: 600_000, intervalMs: 5000, message: 'get_cluster_logs never returned the PostgreSQL record about max_connections'})
    assert.match(found.postgres!.severity, /^(LOG|FATAL|ERROR)$/)
    if (found.postgres!.sqlstate) assert.equal(found.postgres!.sqlstate, '22023')
    const {text} = await call('get_cluster_logs', {name: BROKEN, contains: 'max_connections'})
    assert.match(text, /invalid value for parameter "max_connections": "lots"/, 'the text answer quotes the record too')

    const events = await waitFor(async () => {
      const {structured} = await call('list_cluster_events', {name: BROKEN})
      const list = structured.events as Array<{object: string; reason: string; type: string}>
      return list.some((e) => e.object.startsWith('Pod/')) ? list : undefined
    }, {timeoutMs: 120_000, intervalMs: 3000, message: `no pod events for ${BROKEN}`})
    assert.ok(events.some((e) => e.object.startsWith(`Pod/${BROKEN}-1`)))
  })
})
