import {z} from 'zod'
import type {KubeClient} from '../../k8s/client.ts'
import {KubeApiError, describeKubeError} from '../../k8s/errors.ts'
import {ToolError, kubeStep} from '../errors.ts'
import {settingsMapParam} from './params.ts'
import type {ToolContext, ToolReply} from '../registry.ts'
import {type ObjectList, type ObjectMeta, cnpgPath, renderConditions} from './api.ts'
import {kubeName} from '../validation.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from '../common-parameters.ts'
import {once} from '../lazy.ts'

/** CNPG Poolers (PgBouncer in front of a cluster): the object, its summary and the steps the pooler tools share. */

export interface CnpgPooler {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  spec: {
    cluster: {name: string}
    type?: 'rw' | 'ro' | 'r'
    instances?: number
    pgbouncer?: {poolMode?: string; parameters?: Record<string, string>; paused?: boolean; pg_hba?: string[]}
    [key: string]: unknown
  }
  status?: {instances?: number; phase?: string; phaseReason?: string; image?: string; error?: string; conditions?: Array<{type: string; status: string; reason?: string; message?: string}>}
}

export const poolerNameParam = once(() => kubeName('name', {description: SHARED_PARAMETER_DESCRIPTIONS.pooler}))

export const poolerSummarySchema = once(() => z.object({
  name: z.string(),
  namespace: z.string(),
  cluster: z.string(),
  type: z.string().describe('rw (primary), ro (replicas) or r (any instance)'),
  instances: z.number().describe('PgBouncer pods wanted (spec.instances)'),
  ready_pods: z.number().optional().describe('PgBouncer pods ready (get_pooler only)'),
  reported_instances: z.number().optional().describe('status.instances as the operator reports it'),
  pool_mode: z.string(),
  paused: z.boolean(),
  parameters: z.record(z.string(), z.string()).optional(),
  service: z.string().describe('The Service applications connect to (same name as the Pooler)'),
  phase: z.string().optional(),
  error: z.string().optional(),
  pods: z.array(z.object({name: z.string(), ready: z.boolean(), phase: z.string().optional(), restarts: z.number()})).optional(),
}))
export type PoolerSummary = z.infer<ReturnType<typeof poolerSummarySchema>>

export function summarizePooler(pooler: CnpgPooler): PoolerSummary {
  return {
    name: pooler.metadata.name,
    namespace: pooler.metadata.namespace ?? '',
    cluster: pooler.spec.cluster.name,
    type: pooler.spec.type ?? 'rw',
    instances: pooler.spec.instances ?? 1,
    reported_instances: pooler.status?.instances,
    pool_mode: pooler.spec.pgbouncer?.poolMode ?? 'session',
    paused: pooler.spec.pgbouncer?.paused === true,
    parameters: pooler.spec.pgbouncer?.parameters,
    service: pooler.metadata.name,
    phase: pooler.status?.phase || undefined,
    error: pooler.status?.error || undefined,
  }
}

export function renderPooler(p: PoolerSummary): string {
  const ready = p.ready_pods !== undefined ? `${p.ready_pods}/${p.instances} ready` : `${p.instances} instance(s)`
  const lines = [`- ${p.namespace}/${p.name}: ${p.type} pooler for cluster ${p.cluster}, ${ready}, pool mode ${p.pool_mode}${p.paused ? ', PAUSED' : ''}${p.phase ? `, phase ${p.phase}` : ''}`]
  if (p.parameters && Object.keys(p.parameters).length > 0) lines.push(`  PgBouncer parameters: ${Object.entries(p.parameters).map(([k, v]) => `${k}=${v}`).join(', ')}`)
  if (p.error) lines.push(`  Error: ${p.error}`)
  return lines.join('\n')
}

export function renderPoolerDetails(p: PoolerSummary, conditions: Parameters<typeof renderConditions>[0] = []): string {
  const lines = [`**Pooler: ${p.namespace}/${p.name}**`, renderPooler(p).replace(/^- /, '- Pooler ')]
  lines.push(`- Connect to Service ${p.service} (port 5432)${p.paused ? '; PgBouncer is paused: new queries wait until resume_pooler' : ''}`)
  for (const pod of p.pods ?? []) lines.push(`- Pod ${pod.name}: ${pod.ready ? 'ready' : `NOT ready (${pod.phase ?? 'unknown'})`}${pod.restarts ? `, ${pod.restarts} restart(s)` : ''}`)
  if ((p.pods ?? []).length === 0) lines.push('- No PgBouncer pods yet (list_cluster_events on the cluster, or the Deployment of the same name, shows why)')
  if (conditions.length) lines.push(...renderConditions(conditions))
  return lines.join('\n')
}

export async function loadPooler(context: ToolContext, name: string, namespace?: string): Promise<{kube: KubeClient; namespace: string; pooler: CnpgPooler; ref: string}> {
  const kube = await context.kube()
  const ns = await context.namespace(namespace)
  const ref = `${ns}/${name}`
  try {
    const pooler = await kube.request<CnpgPooler>({method: 'GET', path: cnpgPath('poolers', ns, name), signal: context.signal})
    return {kube, namespace: ns, pooler, ref}
  } catch (error) {
    const message = describeKubeError(error, `getting pooler ${ref}`)
    const missing = error instanceof KubeApiError && error.status === 404
    throw new ToolError(missing ? `${message}\nPoolers: list_poolers({"namespace": "${ns}"}) shows the poolers of that namespace.` : message)
  }
}

/** A JSON merge patch of a pooler; in a dry run the registry's client sends it with dryRun=All. */
export async function mergePatchPooler(kube: KubeClient, namespace: string, name: string, patch: Record<string, unknown>, options: {action: string; signal?: AbortSignal}): Promise<CnpgPooler> {
  const request = {method: 'PATCH' as const, path: cnpgPath('poolers', namespace, name), body: patch, contentType: 'application/merge-patch+json' as const, signal: options.signal}
  return kubeStep(options.action, () => kube.request<CnpgPooler>(request))
}

interface PoolerPod {
  metadata: ObjectMeta
  status?: {phase?: string; containerStatuses?: Array<{ready?: boolean; restartCount?: number}>}
}

/** The PgBouncer pods of a pooler (label cnpg.io/poolerName); undefined when kmcp may not list pods. */
export async function poolerPods(kube: KubeClient, namespace: string, pooler: string, signal: AbortSignal): Promise<PoolerSummary['pods']> {
  try {
    const list = await kube.request<ObjectList<PoolerPod>>({method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, query: {labelSelector: `cnpg.io/poolerName=${pooler}`}, signal})
    return list.items
      .map((pod) => ({
        name: pod.metadata.name,
        ready: (pod.status?.containerStatuses ?? []).length > 0 && (pod.status?.containerStatuses ?? []).every((c) => c.ready === true),
        phase: pod.status?.phase,
        restarts: (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0),
      }))
      .sort((a, b) => a.name.localeCompare(b.name))
  } catch {
    return undefined
  }
}

export const poolModeParam = once(() => z.enum(['session', 'transaction']).describe('"transaction" serves more clients but keeps no session state.'))

export const pgbouncerParametersParam = once(() => settingsMapParam('PgBouncer parameters', 'PgBouncer settings, e.g. {"max_client_conn": "1000"}.'))

/** Shared by pause_pooler and resume_pooler: spec.pgbouncer.paused. The registry confirms a pause (pause_pooler declares it). */
export async function setPoolerPaused(context: ToolContext, args: {name: string; namespace?: string}, paused: boolean): Promise<ToolReply<Record<string, unknown>>> {
  const {kube, namespace, pooler, ref} = await loadPooler(context, args.name, args.namespace)
  if ((pooler.spec.pgbouncer?.paused === true) === paused) return {structured: {status: 'unchanged', pooler: ref, paused}, target: ref, render: () => `Pooler ${ref} is already ${paused ? 'paused' : 'running (not paused)'}. No change made.`}
  const action = `${paused ? 'pausing' : 'resuming'} pooler ${ref}`
  context.explain(
    paused
      ? `Pausing pooler ${ref} (cluster ${pooler.spec.cluster.name}): PgBouncer keeps client connections open but holds every new query until resume_pooler; applications stall meanwhile.`
      : `Resuming pooler ${ref}: PgBouncer sends the held queries to PostgreSQL again.`,
    {destructive: paused},
  )
  await mergePatchPooler(kube, namespace, args.name, {spec: {pgbouncer: {paused}}}, {action, signal: context.signal})
  return {structured: {status: paused ? 'paused' : 'resumed', pooler: ref, paused}, target: ref, render: () => `Successfully ${paused ? 'paused' : 'resumed'} pooler ${ref}. ${paused ? `Resume it with resume_pooler({"name": "${args.name}", "namespace": "${namespace}"}).` : ''}`.trim()}
}
