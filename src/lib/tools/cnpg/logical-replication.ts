import {z} from 'zod'
import {KubeApiError, describeKubeError} from '../../k8s/errors.ts'
import {ToolError, kubeStep} from '../errors.ts'
import type {ToolContext, ToolReply} from '../registry.ts'
import {kubeName} from '../validation.ts'
import {CNPG_API_VERSION, type ObjectMeta, cnpgPath} from './api.ts'
import {loadCluster} from './cluster-ops.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from '../common-parameters.ts'
import {once} from '../lazy.ts'

/**
 * CNPG's declarative logical replication: a Publication (on the source cluster) and a
 * Subscription (on the target cluster, reaching the source through spec.externalClusters).
 * The operator creates the PostgreSQL objects and reports `status.applied` and `status.message`.
 */

export type ReplicationKind = 'publication' | 'subscription'
const PLURAL = {publication: 'publications', subscription: 'subscriptions'} as const

interface ReplicationObject {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  spec: {
    cluster: {name: string}
    name: string
    dbname: string
    parameters?: Record<string, string>
    target?: {allTables?: boolean; objects?: Array<{tablesInSchema?: string; table?: {name: string; schema?: string; only?: boolean; columns?: string[]}}>}
    publicationReclaimPolicy?: string
    publicationName?: string
    publicationDBName?: string
    externalClusterName?: string
    subscriptionReclaimPolicy?: string
  }
  status?: {applied?: boolean; message?: string; observedGeneration?: number}
}

export const replicationSummarySchema = once(() => z.object({
  name: z.string().describe('Kubernetes object name'),
  namespace: z.string(),
  cluster: z.string(),
  postgres_name: z.string().describe('Name of the publication/subscription inside PostgreSQL'),
  database: z.string(),
  applied: z.enum(['yes', 'no', 'pending']).describe('Whether the operator created it in PostgreSQL'),
  message: z.string().optional().describe('The operator\'s message, e.g. why it could not be applied'),
  reclaim_policy: z.string().describe('retain: deleting the object keeps it in PostgreSQL; delete: drops it'),
  target: z.string().optional().describe('Publication: what it publishes'),
  publication: z.string().optional().describe('Subscription: the publication it subscribes to'),
  external_cluster: z.string().optional().describe('Subscription: the spec.externalClusters entry of the source'),
}))
export type ReplicationSummary = z.infer<ReturnType<typeof replicationSummarySchema>>

function describeTarget(target: ReplicationObject['spec']['target']): string {
  if (!target) return 'nothing'
  if (target.allTables) return 'all tables'
  return (target.objects ?? []).map((o) => (o.tablesInSchema ? `tables in schema ${o.tablesInSchema}` : o.table ? `${o.table.schema ? `${o.table.schema}.` : ''}${o.table.name}${o.table.columns?.length ? ` (${o.table.columns.join(', ')})` : ''}` : '?')).join(', ')
}

export function summarizeReplication(kind: ReplicationKind, object: ReplicationObject): ReplicationSummary {
  const stale = object.status?.observedGeneration !== undefined && object.metadata.generation !== undefined && object.status.observedGeneration < object.metadata.generation
  const applied = object.status?.applied === undefined || stale ? 'pending' : object.status.applied ? 'yes' : 'no'
  const base = {
    name: object.metadata.name,
    namespace: object.metadata.namespace ?? '',
    cluster: object.spec.cluster.name,
    postgres_name: object.spec.name,
    database: object.spec.dbname,
    applied,
    message: object.status?.message || undefined,
  } as const
  if (kind === 'publication') return {...base, reclaim_policy: object.spec.publicationReclaimPolicy ?? 'retain', target: describeTarget(object.spec.target)}
  return {
    ...base,
    reclaim_policy: object.spec.subscriptionReclaimPolicy ?? 'retain',
    publication: `${object.spec.publicationName}${object.spec.publicationDBName ? ` (database ${object.spec.publicationDBName})` : ''}`,
    external_cluster: object.spec.externalClusterName,
  }
}

export function renderReplication(s: ReplicationSummary): string {
  const what = s.target !== undefined ? `publishes ${s.target}` : `subscribes to ${s.publication} on external cluster ${s.external_cluster}`
  const applied = s.applied === 'yes' ? 'applied' : s.applied === 'no' ? 'NOT applied' : 'not applied yet'
  return `- ${s.namespace}/${s.name}: "${s.postgres_name}" in database ${s.database} of cluster ${s.cluster}, ${what}; ${applied}${s.message ? `: ${s.message}` : ''} (reclaim policy ${s.reclaim_policy})`
}

export const replicationNameParam = (kind: ReplicationKind) => kubeName('name', {description: SHARED_PARAMETER_DESCRIPTIONS[kind]})

export const reclaimPolicyParam = (kind: ReplicationKind) =>
  z.enum(['retain', 'delete']).default('retain').describe(`"delete": deleting the object drops the ${kind}.`)

/** A PostgreSQL identifier for the publication/subscription name; default: the object name with "_". */
export const postgresObjectNameParam = (kind: ReplicationKind) =>
  z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, `the ${kind} name in PostgreSQL must be a lower-case identifier (letters, digits, "_")`).optional().describe('Default: name with "_" for "-".')

export async function getReplicationObject(context: ToolContext, kind: ReplicationKind, name: string, namespace?: string): Promise<{object: ReplicationObject; namespace: string; ref: string}> {
  const kube = await context.kube()
  const ns = await context.namespace(namespace)
  const ref = `${ns}/${name}`
  try {
    const object = await kube.request<ReplicationObject>({method: 'GET', path: cnpgPath(PLURAL[kind], ns, name), signal: context.signal})
    return {object, namespace: ns, ref}
  } catch (error) {
    const message = describeKubeError(error, `getting ${kind} ${ref}`)
    const missing = error instanceof KubeApiError && error.status === 404
    throw new ToolError(missing ? `${message}\n${kind === 'publication' ? 'Publications' : 'Subscriptions'}: list_${PLURAL[kind]}({"namespace": "${ns}"}) shows them.` : message)
  }
}

/** Creates a Publication or Subscription after checking the cluster exists (a dry run is the registry's). */
export async function createReplicationObject(context: ToolContext, kind: ReplicationKind, args: {name: string; cluster: string; namespace?: string}, spec: Omit<ReplicationObject['spec'], 'cluster'>, validate?: (cluster: Awaited<ReturnType<typeof loadCluster>>['cluster']) => void, note?: string): Promise<ToolReply<Record<string, unknown>>> {
  const target = await loadCluster(context, args.cluster, args.namespace)
  validate?.(target.cluster)
  const {kube, namespace} = target
  const ref = `${namespace}/${args.name}`
  const body: ReplicationObject = {apiVersion: CNPG_API_VERSION, kind: kind === 'publication' ? 'Publication' : 'Subscription', metadata: {name: args.name, namespace}, spec: {cluster: {name: args.cluster}, ...spec}}
  context.explain(`Create ${kind} ${ref}: "${spec.name}" in database ${spec.dbname} of cluster ${target.ref}.${note ? `\n${note}` : ''}`)
  await kubeStep(`creating ${kind} ${ref}`, () => kube.request({method: 'POST', path: cnpgPath(PLURAL[kind], namespace), body, signal: context.signal}))
  return {structured: {status: 'created', [kind]: ref, cluster: args.cluster, postgres_name: spec.name}, target: ref, render: () => `${note ? `${note}\n` : ''}Successfully created ${kind} ${ref} ("${spec.name}" in database ${spec.dbname} of cluster ${target.ref}). The operator applies it in PostgreSQL: check with get_${kind}({"name": "${args.name}", "namespace": "${namespace}"}).`}
}

/** Deletes a Publication or Subscription; the tools declare it destructive, because replication stops (and with reclaim policy delete the PostgreSQL object is dropped). */
export async function deleteReplicationObject(context: ToolContext, kind: ReplicationKind, args: {name: string; namespace?: string}): Promise<ToolReply<Record<string, unknown>>> {
  const {object, namespace, ref} = await getReplicationObject(context, kind, args.name, args.namespace)
  const kube = await context.kube()
  const summary = summarizeReplication(kind, object)
  const dropped = summary.reclaim_policy === 'delete'
  context.explain(`Deleting ${kind} ${ref} ("${summary.postgres_name}" in database ${summary.database} of cluster ${summary.cluster}): ${dropped ? `the operator DROPS the ${kind} in PostgreSQL (reclaim policy delete)${kind === 'subscription' ? ' and replication stops' : ''}` : `the ${kind} stays in PostgreSQL (reclaim policy retain) but the operator no longer manages it`}.`)
  // The uid precondition makes sure an object re-created under the same name meanwhile survives.
  const request = {method: 'DELETE' as const, path: cnpgPath(PLURAL[kind], namespace, args.name), body: {apiVersion: 'v1', kind: 'DeleteOptions', preconditions: {uid: object.metadata.uid}}, signal: context.signal}
  await kubeStep(`deleting ${kind} ${ref}`, () => kube.request(request))
  return {structured: {status: 'deleted', [kind]: ref, drops_in_postgres: dropped}, target: ref, render: () => `Successfully deleted ${kind} ${ref}.${dropped ? ` The operator drops "${summary.postgres_name}" in PostgreSQL.` : ` "${summary.postgres_name}" stays in PostgreSQL.`}`}
}

export type {ReplicationObject}
