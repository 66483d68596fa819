import {z} from 'zod'
import type {KubeClient} from '../../k8s/client.ts'
import {KubeApiError} from '../../k8s/errors.ts'
import type {CnpgCluster} from './api.ts'
import {type ClusterPod, isInstancePod, listClusterPods, podProblem, subresourceForbidden} from './cluster-pods.ts'
import {once} from '../lazy.ts'

/**
 * Live per-instance status, as `kubectl cnpg status` shows it: each instance manager serves
 * GET /pg/status on port 8000 (HTTPS when its command line has --status-port-tls, as in recent
 * CNPG releases), unauthenticated, and the API server's pod proxy reaches it
 * (pods/{scheme}:{pod}:8000/proxy/pg/status), so this needs "get" on pods/proxy.
 */

const STATUS_PORT = 8000
const STATUS_PATH = '/pg/status'
/** Per instance: the API server answers 503 after its own dial timeout (30 s) for an unreachable pod. */
const PROXY_TIMEOUT_MS = 10_000

/** The fields of CNPG's PostgresqlStatus kmcp reads (pkg/postgres/status.go). */
export interface PgStatus {
  currentLsn?: string
  receivedLsn?: string
  replayLsn?: string
  isPrimary?: boolean
  replayPaused?: boolean
  pendingRestart?: boolean
  isWalReceiverActive?: boolean
  isArchivingWAL?: boolean
  lastArchivedWAL?: string
  lastArchivedWALTime?: string
  lastFailedWAL?: string
  lastFailedWALTime?: string
  readyWalFiles?: number
  timeLineID?: number
  instanceManagerVersion?: string
  replicationInfo?: Array<{applicationName?: string; state?: string; receivedLsn?: string; writeLsn?: string; flushLsn?: string; replayLsn?: string; writeLag?: string; flushLag?: string; replayLag?: string; syncState?: string}>
}

export const liveInstanceSchema = once(() => z.object({
  instance: z.string(),
  role: z.enum(['primary', 'replica', 'unknown']),
  pod_ready: z.boolean(),
  node: z.string().optional(),
  timeline: z.number().optional(),
  current_lsn: z.string().optional().describe('Primary: current WAL write position. Replica: last replayed position'),
  received_lsn: z.string().optional().describe('Replica: last WAL position received from the primary'),
  wal_receiver_active: z.boolean().optional(),
  replication: z
    .object({
      state: z.string().optional().describe('streaming, catchup, …'),
      sync_state: z.string().optional().describe('async, sync, quorum, potential'),
      write_lag: z.string().optional(),
      flush_lag: z.string().optional(),
      replay_lag: z.string().optional(),
      lag_bytes: z.number().optional().describe('Primary current LSN minus this replica\'s replayed LSN'),
    })
    .optional()
    .describe('Replica: as seen by the primary (pg_stat_replication)'),
  wal_archiving: z
    .object({
      archiving: z.boolean(),
      last_archived_wal: z.string().optional(),
      last_archived_time: z.string().optional(),
      last_failed_wal: z.string().optional(),
      last_failed_time: z.string().optional(),
      ready_wal_files: z.number().optional().describe('WAL files waiting to be archived'),
    })
    .optional(),
  fenced: z.boolean(),
  pending_restart: z.boolean().optional(),
  replay_paused: z.boolean().optional(),
  manager_version: z.string().optional(),
  problem: z.string().optional().describe('Why the live status could not be read'),
}))
export type LiveInstance = z.infer<ReturnType<typeof liveInstanceSchema>>

export const liveStatusSchema = once(() => z.object({
  instances: z.array(liveInstanceSchema()),
  missing_instances: z.array(z.string()).describe('Instances the operator lists that have no running pod, or "N more instance(s)" wanted by spec.instances'),
  not_streaming: z.array(z.string()).describe('Replicas the primary does not see streaming'),
  unavailable: z.string().optional().describe('Why no live status could be read at all (e.g. no pods/proxy permission)'),
}))
export type LiveStatus = z.infer<ReturnType<typeof liveStatusSchema>>

/** A PostgreSQL LSN ("16/B374D848") as a byte position, or undefined. */
export function lsnToBytes(lsn: string | undefined): bigint | undefined {
  const match = lsn ? /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn) : null
  if (!match) return undefined
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`)
}

/** Instance names from the cnpg.io/fencedInstances annotation ("*" fences all). */
export function fencedInstances(cluster: CnpgCluster): {all: boolean; names: Set<string>} {
  const raw = cluster.metadata.annotations?.['cnpg.io/fencedInstances']
  if (!raw) return {all: false, names: new Set()}
  try {
    const list = JSON.parse(raw) as unknown
    const names = new Set(Array.isArray(list) ? list.map(String) : [])
    return {all: names.has('*'), names}
  } catch {
    return {all: false, names: new Set()}
  }
}

function podReady(pod: ClusterPod | undefined): boolean {
  return pod?.status?.containerStatuses?.find((s) => s.name === 'postgres')?.ready === true
}

/** One instance's row, from its pod and its /pg/status answer (or the problem reading it). */
export function summariseInstance(name: string, pod: ClusterPod | undefined, status: PgStatus | undefined, problem: string | undefined, fenced: boolean): LiveInstance {
  const row: LiveInstance = {instance: name, role: 'unknown', pod_ready: podReady(pod), node: pod?.spec?.nodeName, fenced}
  if (!status) return {...row, problem: problem ?? 'no status'}
  row.role = status.isPrimary ? 'primary' : 'replica'
  row.timeline = status.timeLineID || undefined
  row.current_lsn = status.isPrimary ? status.currentLsn : status.replayLsn
  if (!status.isPrimary) {
    row.received_lsn = status.receivedLsn || undefined
    row.wal_receiver_active = status.isWalReceiverActive
    row.replay_paused = status.replayPaused || undefined
  }
  row.pending_restart = status.pendingRestart || undefined
  row.manager_version = status.instanceManagerVersion || undefined
  if (status.isPrimary || status.lastArchivedWAL || status.lastFailedWAL) {
    row.wal_archiving = {
      archiving: status.isArchivingWAL === true,
      last_archived_wal: status.lastArchivedWAL || undefined,
      last_archived_time: status.lastArchivedWALTime || undefined,
      last_failed_wal: status.lastFailedWAL || undefined,
      last_failed_time: status.lastFailedWALTime || undefined,
      ready_wal_files: status.readyWalFiles,
    }
  }
  return row
}

/** Adds to each replica what the primary sees of it (pg_stat_replication) and its lag in bytes. */
export function attachReplication(rows: LiveInstance[], primary: PgStatus | undefined): string[] {
  const notStreaming: string[] = []
  const primaryLsn = lsnToBytes(primary?.currentLsn)
  for (const row of rows) {
    if (row.role !== 'replica' && !(row.role === 'unknown' && primary)) continue
    if (row.role === 'unknown') {
      notStreaming.push(row.instance)
      continue
    }
    const seen = primary?.replicationInfo?.find((r) => r.applicationName === row.instance)
    const replayed = lsnToBytes(seen?.replayLsn) ?? lsnToBytes(row.current_lsn)
    const lag = primaryLsn !== undefined && replayed !== undefined ? Number(primaryLsn > replayed ? primaryLsn - replayed : 0n) : undefined
    if (seen || lag !== undefined) {
      row.replication = {state: seen?.state, sync_state: seen?.syncState, write_lag: seen?.writeLag, flush_lag: seen?.flushLag, replay_lag: seen?.replayLag, lag_bytes: lag}
    }
    if (primary && seen?.state !== 'streaming') notStreaming.push(row.instance)
  }
  return notStreaming
}

/** Reads /pg/status of every instance pod through the API server's pod proxy. */
export async function readLiveStatus(kube: KubeClient, cluster: CnpgCluster, signal: AbortSignal): Promise<LiveStatus> {
  const namespace = cluster.metadata.namespace ?? ''
  const name = cluster.metadata.name
  let pods: ClusterPod[]
  try {
    pods = (await listClusterPods(kube, namespace, name, signal)).filter(isInstancePod)
  } catch (error) {
    return {instances: [], missing_instances: [], not_streaming: [], unavailable: `cannot list the cluster's pods: ${podProblem(error).split('\n')[0]}`}
  }
  const fencing = fencedInstances(cluster)
  const reads = await Promise.all(pods.map((pod) => readPgStatus(kube, pod, signal)))
  const forbidden = reads.find((r) => r.forbidden)?.forbidden
  if (forbidden) return {instances: [], missing_instances: [], not_streaming: [], unavailable: forbidden}
  const rows = pods.map((pod, i) => summariseInstance(pod.metadata.name, pod, reads[i].status, reads[i].problem, fencing.all || fencing.names.has(pod.metadata.name)))
  const primaryIndex = reads.findIndex((r) => r.status?.isPrimary)
  const notStreaming = attachReplication(rows, primaryIndex >= 0 ? reads[primaryIndex].status : undefined)
  const podNames = new Set(pods.map((p) => p.metadata.name))
  const missing = (cluster.status?.instanceNames ?? []).filter((instance) => !podNames.has(instance))
  const wanted = cluster.spec.instances ?? 1
  if (pods.length + missing.length < wanted) missing.push(`${wanted - pods.length - missing.length} more instance(s) wanted by spec.instances`)
  return {instances: rows, missing_instances: missing, not_streaming: notStreaming}
}

export function statusScheme(pod: ClusterPod): 'https' | 'http' {
  const postgres = pod.spec?.containers?.find((c) => c.name === 'postgres')
  return postgres?.command?.includes('--status-port-tls') || postgres?.args?.includes('--status-port-tls') ? 'https' : 'http'
}

async function readPgStatus(kube: KubeClient, pod: ClusterPod, signal: AbortSignal): Promise<{status?: PgStatus; problem?: string; forbidden?: string}> {
  const namespace = pod.metadata.namespace ?? ''
  if (!pod.status?.podIP) return {problem: `pod is ${pod.status?.phase ?? 'not running'} and has no IP yet`}
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${statusScheme(pod)}:${encodeURIComponent(pod.metadata.name)}:${STATUS_PORT}/proxy${STATUS_PATH}`
  try {
    const text = await kube.requestText({path, signal: AbortSignal.any([signal, AbortSignal.timeout(PROXY_TIMEOUT_MS)])})
    return {status: JSON.parse(text) as PgStatus}
  } catch (error) {
    const forbidden = subresourceForbidden(error, 'proxy', namespace, "to read the instances' live status (role, LSN, replication lag, WAL archiving) from the instance manager")
    if (forbidden) return {forbidden: forbidden.message}
    if (error instanceof SyntaxError) return {problem: 'the instance manager answered something that is not JSON'}
    if ((error as {name?: string}).name === 'TimeoutError' || (error as {name?: string}).name === 'AbortError') return {problem: `no answer from the instance manager within ${PROXY_TIMEOUT_MS / 1000} s`}
    if (error instanceof KubeApiError) return {problem: `instance manager not reachable: ${podProblem(error)}`}
    return {problem: podProblem(error)}
  }
}

/** The text of the live part of get_cluster_status. */
export function renderLiveStatus(live: LiveStatus): string[] {
  if (live.unavailable) return [`**Live instance status:** not available: ${live.unavailable}`]
  const lines = ['**Live instance status** (from each instance manager):']
  for (const row of live.instances) {
    if (row.problem) {
      lines.push(`- ${row.instance}: ${row.problem}${row.fenced ? ' (fenced)' : ''}`)
      continue
    }
    const parts = [`${row.role}`, row.pod_ready ? 'ready' : 'NOT ready']
    if (row.timeline) parts.push(`timeline ${row.timeline}`)
    if (row.current_lsn) parts.push(`${row.role === 'primary' ? 'current' : 'replayed'} LSN ${row.current_lsn}`)
    const r = row.replication
    if (r) parts.push(`replication ${r.state ?? 'not seen by the primary'}${r.sync_state ? ` (${r.sync_state})` : ''}, lag ${r.lag_bytes ?? '?'} bytes (write ${r.write_lag ?? '-'}, flush ${r.flush_lag ?? '-'}, replay ${r.replay_lag ?? '-'})`)
    const w = row.wal_archiving
    if (w) parts.push(`WAL archiving ${w.last_failed_wal && (!w.last_archived_time || (w.last_failed_time ?? '') > w.last_archived_time) ? `FAILING (last failed ${w.last_failed_wal} at ${w.last_failed_time})` : w.last_archived_wal ? `ok (last ${w.last_archived_wal} at ${w.last_archived_time})` : w.archiving ? 'on, nothing archived yet' : 'off'}${w.ready_wal_files ? `, ${w.ready_wal_files} WAL file(s) waiting` : ''}`)
    if (row.fenced) parts.push('FENCED')
    if (row.pending_restart) parts.push('pending restart')
    if (row.replay_paused) parts.push('replay paused')
    lines.push(`- ${row.instance}: ${parts.join(', ')}`)
  }
  if (live.instances.length === 0) lines.push('- no instance pods')
  if (live.missing_instances.length > 0) lines.push(`- Missing instances: ${live.missing_instances.join(', ')} (list_cluster_events and get_cluster_logs show why)`)
  if (live.not_streaming.length > 0) lines.push(`- Not streaming from the primary: ${live.not_streaming.join(', ')}`)
  return lines
}
