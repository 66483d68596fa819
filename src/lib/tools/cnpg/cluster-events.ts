import {z} from 'zod'
import {once} from '../lazy.ts'

/**
 * Which Kubernetes events belong to a CNPG cluster, and how to fold them into one line per
 * distinct happening. Pure logic: the tool lists the events, this decides.
 *
 * An event belongs to cluster C when its object is C itself, has a UID or kind/name of an object
 * labelled cnpg.io/cluster=C, or (for objects already gone, such as a deleted replica's Pod) is
 * named the way CNPG names C's objects: "C-<serial>" for Pods and PVCs, "C-<serial>-<job>" for
 * job Pods and Jobs, "C-rw"/"C-ro"/"C-r" for Services, "C"/"C-primary" for PodDisruptionBudgets.
 * When several clusters' names could match ("db" and "db-2"), the longest cluster name wins.
 */

export interface CoreEvent {
  metadata: {name: string; namespace?: string; creationTimestamp?: string}
  involvedObject: {kind?: string; name?: string; namespace?: string; uid?: string}
  reason?: string
  message?: string
  type?: string
  count?: number
  firstTimestamp?: string | null
  lastTimestamp?: string | null
  eventTime?: string | null
  series?: {count?: number; lastObservedTime?: string}
  source?: {component?: string; host?: string}
  reportingComponent?: string
}

export const clusterEventSchema = once(() => z.object({
  last_seen: z.string().optional(),
  first_seen: z.string().optional(),
  type: z.string().describe('Normal or Warning'),
  reason: z.string(),
  object: z.string().describe('Kind/name of the object the event is about'),
  message: z.string(),
  count: z.number().describe('How many times it happened (repeats folded together)'),
  source: z.string().optional().describe('Component that reported it'),
}))
export type ClusterEvent = z.infer<ReturnType<typeof clusterEventSchema>>

/** Objects of the cluster that exist now (labelled cnpg.io/cluster=<cluster>). */
export interface OwnedObjects {
  uids: Set<string>
  /** "Kind/name" */
  names: Set<string>
}

const SUFFIX_BY_KIND: Record<string, RegExp> = {
  Pod: /^\d+(-[a-z0-9-]+)?$/,
  PersistentVolumeClaim: /^\d+(-wal|-tbs-[a-z0-9-]+)?$/,
  Job: /^\d+-[a-z0-9-]+$/,
  Service: /^(rw|ro|r)$/,
  PodDisruptionBudget: /^primary$/,
}

/** The cluster that a name of this kind belongs to by CNPG's naming, the longest match first. */
export function clusterOfName(kind: string, name: string, clusters: string[]): string | undefined {
  const suffix = SUFFIX_BY_KIND[kind]
  let best: string | undefined
  for (const cluster of clusters) {
    const matches = (kind === 'PodDisruptionBudget' && name === cluster) || (suffix !== undefined && name.startsWith(`${cluster}-`) && suffix.test(name.slice(cluster.length + 1)))
    if (matches && (!best || cluster.length > best.length)) best = cluster
  }
  return best
}

export function belongsToCluster(event: CoreEvent, cluster: {name: string; uid?: string}, owned: OwnedObjects, clustersInNamespace: string[]): boolean {
  const {kind = '', name = '', uid} = event.involvedObject
  if (uid && (uid === cluster.uid || owned.uids.has(uid))) return true
  if (kind === 'Cluster') return name === cluster.name
  if (owned.names.has(`${kind}/${name}`)) return true
  const candidates = clustersInNamespace.includes(cluster.name) ? clustersInNamespace : [...clustersInNamespace, cluster.name]
  return clusterOfName(kind, name, candidates) === cluster.name
}

function latest(...times: Array<string | null | undefined>): string | undefined {
  return times.filter((t): t is string => Boolean(t)).sort().at(-1)
}

function earliest(...times: Array<string | null | undefined>): string | undefined {
  return times.filter((t): t is string => Boolean(t)).sort()[0]
}

function normaliseTime(time: string | undefined): string | undefined {
  if (!time) return undefined
  const parsed = Date.parse(time)
  return Number.isNaN(parsed) ? undefined : new Date(parsed).toISOString()
}

/**
 * One entry per object, type, reason and message, with the counts summed and the first and last
 * time it was seen; newest first.
 */
export function foldEvents(events: CoreEvent[]): ClusterEvent[] {
  const folded = new Map<string, ClusterEvent>()
  for (const event of events) {
    const object = `${event.involvedObject.kind ?? '?'}/${event.involvedObject.name ?? '?'}`
    const type = event.type || 'Normal'
    const reason = event.reason || 'Unknown'
    const message = (event.message ?? '').trim()
    const key = JSON.stringify([object, type, reason, message])
    // creationTimestamp only when the event carries no time of its own: it is when the Event
    // object was written, which for a clock-skewed or replayed event says nothing.
    const last = normaliseTime(latest(event.lastTimestamp, event.series?.lastObservedTime, event.eventTime) ?? event.metadata.creationTimestamp)
    const first = normaliseTime(earliest(event.firstTimestamp, event.eventTime) ?? event.metadata.creationTimestamp)
    const count = Math.max(1, event.series?.count ?? event.count ?? 1)
    const source = event.reportingComponent || event.source?.component || undefined
    const existing = folded.get(key)
    if (!existing) {
      folded.set(key, {last_seen: last, first_seen: first, type, reason, object, message, count, source})
      continue
    }
    existing.count += count
    existing.last_seen = latest(existing.last_seen, last)
    existing.first_seen = earliest(existing.first_seen, first)
  }
  return [...folded.values()].sort((a, b) => (b.last_seen ?? '').localeCompare(a.last_seen ?? '') || a.object.localeCompare(b.object))
}

export function renderClusterEvent(event: ClusterEvent): string {
  const repeat = event.count > 1 ? ` (x${event.count}${event.first_seen && event.first_seen !== event.last_seen ? ` since ${event.first_seen}` : ''})` : ''
  return `- ${event.last_seen ?? '(no time)'} ${event.type} ${event.reason} ${event.object}${repeat}: ${event.message}`
}
