// Test helpers for the REAL node: kubelet + containerd + the official CloudNativePG operator running
// real PostgreSQL, started by global-setup.ts (scripts/node/runtime.mjs) when the tests run as root
// and KMCP_REAL_NODE is not '0'. The operator watches only REAL_NODE_NAMESPACES (plus
// KMCP_REAL_NODE_EXTRA_NAMESPACES), so the simulated tests elsewhere keep writing .status by hand.
// Only erasable TypeScript syntax: this file runs under Node's type stripping.
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import type {TestContext} from 'node:test'
import {STATE_ENV} from './kube.ts'

/** The namespaces the real operator watches; global setup creates them (pods there tolerate the node's taint). */
export const REAL_NODE_NAMESPACES = ['e2e-clusters', 'e2e-scale', 'e2e-postgres', 'e2e-backups', 'e2e-diagnose', 'e2e-poolers', 'e2e-misc', 'e2e-logical', 'e2e-upgrade']

/** What global setup wrote into the harness state file under `realNode`. */
export interface RealNodeInfo {
  available: true
  netns: string
  storageClass: string
  postgresImage: string
  postgresVersion?: string
  operatorImage: string
  /** The PgBouncer image the operator gives Poolers (scripts/node/pgbouncer-image.mjs). */
  pgbouncerImage?: string
  operatorNamespace: string
  nodeName: string
  nodeIp: string
  /** The machine's end of the link to the node's network namespace: pods reach the machine there. */
  hostIp: string
  dnsIp: string
  runDir: string
  logDir: string
  watchNamespaces: string[]
  pid: number
}
export type RealNode = RealNodeInfo | {available: false; reason: string}

let cached: RealNode | undefined

/** The real node of this test run, or why there is none. */
export function realNode(): RealNode {
  if (cached) return cached
  const file = process.env[STATE_ENV]
  if (!file) return {available: false, reason: `no test harness (${STATE_ENV} is not set): run the tests with "npm test"`}
  let state: {realNode?: RealNode}
  try {
    state = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    return {available: false, reason: `cannot read the harness state file ${file}: ${(error as Error).message}`}
  }
  cached = state.realNode ?? {available: false, reason: 'global setup did not start a real node (an older state file?)'}
  return cached
}

/** Skips the test with the reason when there is no real node; returns whether it is available. */
export function skipUnlessRealNode(t: TestContext): boolean {
  const node = realNode()
  if (node.available) return true
  t.skip(`no real node: ${node.reason}`)
  return false
}

export function requireRealNode(): RealNodeInfo {
  const node = realNode()
  if (!node.available) throw new Error(`no real node: ${node.reason}`)
  return node
}

/**
 * Runs the machine's psql inside the run's network namespace, where CoreDNS resolves Service names
 * and kube-proxy routes ClusterIPs. A host without a dot is taken as a Service of `namespace`.
 * `netns` picks another node's namespace (default: the shared node's).
 */
export function psql(namespace: string, sql: string, options: {host: string; user: string; password: string; database: string; port?: number; timeoutMs?: number; netns?: string}): Promise<{code: number | null; stdout: string; stderr: string}> {
  const netns = options.netns ?? requireRealNode().netns
  const host = options.host.includes('.') ? options.host : `${options.host}.${namespace}.svc.cluster.local`
  const conninfo = `host=${host} port=${options.port ?? 5432} user=${options.user} dbname=${options.database} connect_timeout=10`
  const child = spawn('ip', ['netns', 'exec', netns, 'psql', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', conninfo, '-c', sql], {
    env: {PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', PGPASSWORD: options.password, PGCONNECT_TIMEOUT: '10'},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

export interface NodeClusterOptions {
  namespace?: string
  instances?: number
  storageSize?: string
  database?: string
  owner?: string
  spec?: Record<string, unknown>
}

/** Small settings so that a few clusters fit on the node at once (2 cores, shared). */
const SMALL_PARAMETERS = {shared_buffers: '32MB', max_connections: '30'}
const SMALL_RESOURCES = {requests: {cpu: '50m', memory: '128Mi'}}

/** A CNPG Cluster that runs on the real node: the local image (never pulled), the `local` StorageClass, small settings. */
export function clusterManifestForNode(name: string, options: NodeClusterOptions = {}): Record<string, any> {
  const node = requireRealNode()
  return {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: {name, ...(options.namespace ? {namespace: options.namespace} : {})},
    spec: {
      instances: options.instances ?? 1,
      imageName: node.postgresImage,
      imagePullPolicy: 'Never',
      storage: {size: options.storageSize ?? '1Gi', storageClass: node.storageClass},
      resources: SMALL_RESOURCES,
      postgresql: {parameters: SMALL_PARAMETERS},
      bootstrap: {initdb: {database: options.database ?? 'app', owner: options.owner ?? options.database ?? 'app'}},
      ...options.spec,
    },
  }
}

/**
 * The kmcp serve arguments a session on the node needs: its PostgreSQL image is the node's own
 * (localhost/...), which kmcp refuses unless the operator allows that registry.
 */
export const NODE_SERVE_ARGS = ['--allowed-images', 'localhost/']

/** The same settings as arguments of kmcp's create_postgres_cluster tool (kmcp started with NODE_SERVE_ARGS). */
export function createClusterArgsForNode(name: string, namespace: string, options: Omit<NodeClusterOptions, 'namespace' | 'spec'> = {}): Record<string, unknown> {
  const node = requireRealNode()
  return {
    name,
    namespace,
    instances: options.instances ?? 1,
    storage_size: options.storageSize ?? '1Gi',
    container_image: node.postgresImage,
    image_pull_policy: 'Never',
    storage_class: node.storageClass,
    resources: SMALL_RESOURCES,
    postgresql_parameters: SMALL_PARAMETERS,
    ...(options.database ? {database: options.database} : {}),
    ...(options.owner ? {owner: options.owner} : {}),
  }
}

export interface ClusterHealth {
  phase?: string
  readyInstances?: number
  instances?: number
}

/** Polls a Cluster until CNPG reports it healthy with all instances ready; throws with the last phase otherwise. */
export async function waitForHealthyCluster(getCluster: () => Promise<{status?: ClusterHealth; spec?: {instances?: number}} | undefined>, timeoutMs = 300_000): Promise<ClusterHealth> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const cluster = await getCluster()
    const last: ClusterHealth = {phase: cluster?.status?.phase, readyInstances: cluster?.status?.readyInstances, instances: cluster?.spec?.instances}
    if (last.phase === 'Cluster in healthy state' && last.readyInstances === last.instances) return last
    if (Date.now() > deadline) throw new Error(`cluster not healthy within ${timeoutMs / 1000}s: phase ${JSON.stringify(last.phase)}, ${last.readyInstances ?? 0}/${last.instances} ready`)
    await new Promise((r) => setTimeout(r, 2000))
  }
}
