import type {ToolContext, ToolReply} from '../registry.ts'
import type {WaitState} from '../wait.ts'
import type {CnpgCluster} from './api.ts'
import {clusterReadiness, clusterWait, loadCluster, mergePatchCluster} from './cluster-ops.ts'

/**
 * Hibernation, resumption and rolling restart are each one annotation on the Cluster that the
 * operator acts on; this is that shared flow. Dry run and confirmation are the registry's.
 */

export const HIBERNATION_ANNOTATION = 'cnpg.io/hibernation'
/** The condition CNPG sets while a cluster is hibernated (status "True"). */
export const HIBERNATION_CONDITION = 'cnpg.io/hibernation'
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt'

export interface AnnotationChange {
  args: {name: string; namespace?: string}
  annotation: string
  value: string
  /** Returns a message when the cluster is already in the wanted state (nothing to do). */
  alreadyDone(annotations: Record<string, string>): string | undefined
  /** What happens, for the preview and the human's confirmation. */
  describe(ref: string): string
  done(ref: string, name: string, namespace: string): string
  /** When the operator has finished, judged from the cluster's status (for wait=true). */
  finished(cluster: CnpgCluster): WaitState
  /** Seconds to wait by default, given the number of instances. */
  defaultTimeout(instances: number): number
}

export async function applyAnnotationChange(change: AnnotationChange, context: ToolContext): Promise<ToolReply<Record<string, unknown>>> {
  const target = await loadCluster(context, change.args.name, change.args.namespace)
  const {ref, namespace} = target
  const already = change.alreadyDone(target.cluster.metadata.annotations ?? {})
  if (already) return {structured: {status: 'unchanged', cluster: ref}, target: ref, render: () => `${already} No change made.`}
  context.explain(change.describe(ref))
  const patch = {metadata: {annotations: {[change.annotation]: change.value}}}
  await mergePatchCluster(target, change.args.name, patch, {action: `setting ${change.annotation}=${change.value} on cluster ${ref}`, signal: context.signal})
  return {
    structured: {status: 'applied', cluster: ref, annotation: `${change.annotation}=${change.value}`},
    target: ref,
    waitFor: clusterWait(target, change.args.name, change.defaultTimeout(target.cluster.spec.instances ?? 1), change.finished),
    render: () => change.done(ref, change.args.name, namespace),
  }
}

function condition(cluster: CnpgCluster, type: string) {
  return cluster.status?.conditions?.find((c) => c.type === type)
}

/** Hibernated: CNPG reports the hibernation condition True (its pods are gone, volumes kept). */
export function hibernated(cluster: CnpgCluster): WaitState {
  const hibernation = condition(cluster, HIBERNATION_CONDITION)
  const done = hibernation?.status === 'True'
  return {done, message: done ? `hibernated (${hibernation?.reason ?? 'condition True'})` : `hibernating: ${cluster.status?.readyInstances ?? 0} instance(s) still ready, phase: ${cluster.status?.phase || 'not reported yet'}`}
}

/** Resumed: no longer hibernated, and healthy with every instance ready. */
export function resumed(cluster: CnpgCluster): WaitState {
  const ready = clusterReadiness(cluster)
  const stillHibernated = condition(cluster, HIBERNATION_CONDITION)?.status === 'True'
  return {done: ready.done && !stillHibernated, message: stillHibernated ? 'still hibernated' : ready.message}
}

/**
 * Restarted: healthy again, and the Ready condition changed after the restart was requested (it
 * goes False while instances restart). Tolerant of operators that do not report the transition:
 * the wait then ends at its timeout, saying where the cluster stands.
 */
export function restartedSince(requestedAt: string): (cluster: CnpgCluster) => WaitState {
  return (cluster) => {
    const ready = clusterReadiness(cluster)
    const transition = condition(cluster, 'Ready')?.lastTransitionTime
    const after = typeof transition === 'string' && transition >= requestedAt
    return {done: ready.done && after, message: after ? ready.message : `restart requested at ${requestedAt}; ${ready.message}`}
  }
}
