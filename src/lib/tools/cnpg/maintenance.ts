import type {ToolContext, ToolReply} from '../registry.ts'
import {confirmDestructive, notConfirmedStructure, renderNotConfirmed} from '../confirm.ts'
import {renderDryRun} from '../dry-run.ts'
import {loadCluster, mergePatchCluster} from './cluster-ops.ts'
import {callExample} from './params.ts'

/**
 * Hibernation and rolling restart are both one annotation on the Cluster that the operator acts
 * on, each previewed (dry run) and confirmed the same way; this is that shared flow.
 */

export const HIBERNATION_ANNOTATION = 'cnpg.io/hibernation'
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt'


export interface AnnotationChange {
  tool: string
  args: {name: string; namespace?: string; dry_run: boolean; confirm: boolean}
  annotation: string
  value: string
  /** Returns a message when the cluster is already in the wanted state (nothing to do). */
  alreadyDone(annotations: Record<string, string>): string | undefined
  /** What happens, for the preview and the human's confirmation. */
  describe(ref: string): string
  done(ref: string, name: string, namespace: string): string
  heading: string
}

export async function applyAnnotationChange(change: AnnotationChange, context: ToolContext): Promise<ToolReply<Record<string, unknown>>> {
  const target = await loadCluster(context, change.args.name, change.args.namespace)
  const {ref, namespace} = target
  const already = change.alreadyDone(target.cluster.metadata.annotations ?? {})
  if (already) return {structured: {status: 'unchanged', cluster: ref}, target: ref, render: () => `${already} No change made.`}
  const patch = {metadata: {annotations: {[change.annotation]: change.value}}}
  const action = `setting ${change.annotation}=${change.value} on cluster ${ref}`
  const summary = change.describe(ref)
  const retryCall = callExample(change.tool, {name: change.args.name, namespace, confirm: true})
  if (change.args.dry_run) {
    await mergePatchCluster(target, change.args.name, patch, {action, dryRun: true, signal: context.signal})
    return {structured: {status: 'dry_run', cluster: ref, annotation: `${change.annotation}=${change.value}`}, target: ref, dryRun: true, render: () => renderDryRun({heading: `${change.heading} cluster ${ref}`, notes: [summary], nextStep: `To apply (only if the user asked): ${retryCall}`})}
  }
  const outcome = await confirmDestructive(context, {summary, flag: change.args.confirm})
  if (!outcome.confirmed) {
    return {structured: {...notConfirmedStructure(outcome), cluster: ref}, target: ref, render: () => renderNotConfirmed({heading: change.heading.toUpperCase(), outcome, preview: summary, flagName: 'confirm', retryCall})}
  }
  await mergePatchCluster(target, change.args.name, patch, {action, signal: context.signal})
  return {structured: {status: 'applied', cluster: ref, annotation: `${change.annotation}=${change.value}`, confirmed_by: outcome.via}, target: ref, render: () => change.done(ref, change.args.name, namespace)}
}
