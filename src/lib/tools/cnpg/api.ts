import {z} from 'zod'
import {once} from '../lazy.ts'

/** CloudNativePG API coordinates and the parts of its objects kmcp reads. */
export const CNPG_GROUP = 'postgresql.cnpg.io'
export const CNPG_VERSION = 'v1'
export const CNPG_API_VERSION = `${CNPG_GROUP}/${CNPG_VERSION}`

export type CnpgPlural = 'clusters' | 'backups' | 'scheduledbackups' | 'databases' | 'databaseroles' | 'poolers' | 'publications' | 'subscriptions'

/** REST path of a CNPG collection or object. Without a namespace: across all namespaces. */
export function cnpgPath(plural: CnpgPlural, namespace?: string, name?: string, subresource?: 'status' | 'scale'): string {
  let path = `/apis/${CNPG_GROUP}/${CNPG_VERSION}`
  if (namespace) path += `/namespaces/${encodeURIComponent(namespace)}`
  path += `/${plural}`
  if (name) path += `/${encodeURIComponent(name)}`
  if (subresource) path += `/${subresource}`
  return path
}

export interface KubeCondition {
  type: string
  status: string
  reason?: string
  message?: string
  lastTransitionTime?: string
}

export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export interface ObjectList<T> {
  items: T[]
  metadata: {continue?: string; remainingItemCount?: number; resourceVersion?: string}
}

export interface CnpgCluster {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  spec: {
    instances?: number
    imageName?: string
    imageCatalogRef?: {name: string; kind: string; major: number}
    storage?: {size?: string; storageClass?: string}
    walStorage?: {size?: string; storageClass?: string}
    postgresql?: {parameters?: Record<string, string>}
    managed?: {roles?: Array<Record<string, unknown>>}
    [key: string]: unknown
  }
  status?: {
    instances?: number
    readyInstances?: number
    phase?: string
    phaseReason?: string
    currentPrimary?: string
    targetPrimary?: string
    instanceNames?: string[]
    instancesStatus?: Record<string, string[]>
    conditions?: KubeCondition[]
    image?: string
    [key: string]: unknown
  }
}

/** The condition fields kmcp reports (a stable subset of metav1.Condition). */
export const conditionSchema = once(() => z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  message: z.string().optional(),
  last_transition_time: z.string().optional(),
}))

export function summarizeConditions(conditions: KubeCondition[] | undefined): z.infer<ReturnType<typeof conditionSchema>>[] {
  return (conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason || undefined,
    message: c.message || undefined,
    last_transition_time: c.lastTransitionTime,
  }))
}

export function renderConditions(conditions: z.infer<ReturnType<typeof conditionSchema>>[]): string[] {
  if (conditions.length === 0) return ['**Conditions:** none reported']
  const lines = ['**Conditions:**']
  for (const c of conditions) {
    lines.push(`- ${c.type}: ${c.status}${c.reason ? ` (${c.reason})` : ''}`)
    if (c.message) lines.push(`  ${c.message}`)
  }
  return lines
}

/** The PostgreSQL image in use: status.image (what runs), else spec.imageName, else the catalog ref. */
export function postgresImage(cluster: CnpgCluster): string {
  if (cluster.status?.image) return cluster.status.image
  if (cluster.spec.imageName) return cluster.spec.imageName
  const ref = cluster.spec.imageCatalogRef
  if (ref) return `${ref.kind}/${ref.name} (PostgreSQL ${ref.major})`
  return 'operator default'
}
