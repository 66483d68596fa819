import {z} from 'zod'
import {type ToolContext, type ToolReply, defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {type Quantity, compareQuantities, namespaceParam, storageSizeParam} from '../validation.ts'
import {nonExpandableStorageClasses, quantityOrUndefined} from './instances.ts'
import {type ClusterTarget, loadCluster, mergePatchCluster} from './cluster-ops.ts'
import {callExample, clusterNameParam} from './params.ts'

/** CNPG's annotation that turns its admission webhook's validation off for one cluster. */
export const VALIDATION_ANNOTATION = 'cnpg.io/validation'

export const resizePostgresCluster = defineTool({
  name: 'resize_postgres_cluster',
  title: 'Resize PostgreSQL cluster storage',
  description: [
    'Change the data volume size. Growing expands each PVC in place (the StorageClass must allow expansion). Shrinking (confirm_shrink) sets the smaller size and adds extra_instances new replicas; then follow get_cluster_resize_status: promote_cluster_instance, delete_cluster_instance for each old instance, scale back.',
    'Example: {"name": "orders-db", "storage_size": "50Gi"}; shrink: {"name": "orders-db", "storage_size": "5Gi", "extra_instances": 1}.',
    'Errors: 404, 403, 422.',
  ].join('\n'),
  get input() {
    return {
      name: clusterNameParam(),
      storage_size: storageSizeParam('storage_size', 'New data volume size, e.g. "50Gi".').optional(),
      extra_instances: z
        .number()
        .int('extra_instances must be a whole number')
        .min(1, 'extra_instances must be at least 1: a shrink needs new replicas to move the data to')
        .max(5, 'extra_instances must be at most 5')
        .default(1)
        .describe('Shrink: replicas to add at the new size.'),
      restore_validation_only: z.boolean().default(false).describe('Only re-enable validation after a failed shrink.'),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_shrink', when: 'to shrink storage (shrink only; growing needs no confirmation)', message: (args) => `Shrink the storage of cluster ${String(args.name)} to ${String(args.storage_size)}.`},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    if (!args.restore_validation_only && args.storage_size === undefined) {
      throw new ToolError('storage_size is required unless restore_validation_only=true. Example: {"name": "orders-db", "storage_size": "50Gi"}.')
    }
    const target = await loadCluster(context, args.name, args.namespace)
    if (args.restore_validation_only) return restoreValidation(target, args.name, context)

    const desiredText = args.storage_size as string
    // Validated by the input schema already.
    const desired = quantityOrUndefined(desiredText) as Quantity
    const currentText = target.cluster.spec.storage?.size
    const current = quantityOrUndefined(currentText)
    if (!current) {
      throw new ToolError(`Cluster ${target.ref} has spec.storage.size ${JSON.stringify(currentText ?? null)}, which is not a valid Kubernetes quantity, so kmcp cannot tell a grow from a shrink. Fix the cluster's spec.storage.size first (kubectl edit cluster ${args.name} -n ${target.namespace}).`)
    }
    const order = compareQuantities(desired, current)
    if (order === 0) {
      return {structured: {status: 'unchanged', cluster: target.ref, storage_size: currentText}, target: target.ref, render: () => `Cluster ${target.ref} storage is already set to ${currentText}. No change made. See get_cluster_resize_status for the state of its volumes.`}
    }
    if (order > 0) return grow(target, args.name, currentText as string, desiredText, context)
    return shrink(target, {name: args.name, currentSize: currentText as string, desiredSize: desiredText, extra: args.extra_instances}, context)
  },
})

async function restoreValidation(target: ClusterTarget, name: string, context: ToolContext): Promise<ToolReply<Record<string, unknown>>> {
  const value = target.cluster.metadata.annotations?.[VALIDATION_ANNOTATION]
  if (value !== 'disabled') {
    return {structured: {status: 'unchanged', cluster: target.ref, validation_disabled: false}, target: target.ref, render: () => `Validation is already enabled on cluster ${target.ref} (no ${VALIDATION_ANNOTATION}=disabled annotation). No change made.`}
  }
  context.explain(`Remove annotation ${VALIDATION_ANNOTATION}=disabled from cluster ${target.ref} (re-enables CNPG validation).`, {destructive: false})
  await mergePatchCluster(target, name, {metadata: {annotations: {[VALIDATION_ANNOTATION]: null}}}, {action: `re-enabling validation on cluster ${target.ref}`, signal: context.signal})
  return {structured: {status: 'validation_restored', cluster: target.ref}, target: target.ref, render: () => `Re-enabled CNPG validation on cluster ${target.ref} (removed annotation ${VALIDATION_ANNOTATION}=disabled).`}
}

async function grow(target: ClusterTarget, name: string, currentSize: string, desiredSize: string, context: ToolContext): Promise<ToolReply<Record<string, unknown>>> {
  const fixed = await nonExpandableStorageClasses(target.kube, target.namespace, name, target.cluster.spec.storage?.storageClass, context.signal)
  if (fixed.length > 0) {
    throw new ToolError(
      `StorageClass ${fixed.map((c) => `"${c}"`).join(', ')} does not allow volume expansion (allowVolumeExpansion is not true), so the volumes of cluster ${target.ref} cannot grow in place: the operator would fail to resize them. No change made.\n` +
        'Options: a cluster administrator enables allowVolumeExpansion on the StorageClass (only if its provisioner supports expansion), or move the data to a new cluster with bigger volumes (restore_postgres_cluster from a backup with storage_size, or create_postgres_cluster and migrate).',
    )
  }
  const online = (target.cluster.spec.storage as {resizeInUseVolumes?: boolean} | undefined)?.resizeInUseVolumes !== false
  const note = online
    ? 'The operator expands each PVC in place while the instances keep running (spec.storage.resizeInUseVolumes is true); the StorageClass must allow volume expansion.'
    : 'spec.storage.resizeInUseVolumes is false: the operator restarts each instance to expand its PVC; the StorageClass must allow volume expansion.'
  context.explain(`Grow the storage of cluster ${target.ref} from ${currentSize} to ${desiredSize}. ${note}`, {destructive: false})
  await mergePatchCluster(target, name, {spec: {storage: {size: desiredSize}}}, {action: `growing the storage of cluster ${target.ref} to ${desiredSize}`, signal: context.signal})
  return {
    structured: {status: 'growing', cluster: target.ref, previous_size: currentSize, storage_size: desiredSize},
    target: target.ref,
    render: () => `Successfully requested storage growth of cluster ${target.ref} from ${currentSize} to ${desiredSize}.\n${note}\nFollow it with get_cluster_resize_status({"name": "${name}", "namespace": "${target.namespace}"}).`,
  }
}

interface ShrinkPlan {
  name: string
  currentSize: string
  desiredSize: string
  extra: number
}

async function shrink(target: ClusterTarget, plan: ShrinkPlan, context: ToolContext): Promise<ToolReply<Record<string, unknown>>> {
  const {name} = plan
  const currentInstances = target.cluster.spec.instances ?? 1
  const targetInstances = currentInstances + plan.extra
  const previousValidation = target.cluster.metadata.annotations?.[VALIDATION_ANNOTATION]
  const steps = [
    `1. set annotation ${VALIDATION_ANNOTATION}=disabled (CNPG refuses a smaller size otherwise)`,
    `2. set spec.storage.size=${plan.desiredSize} and spec.instances=${targetInstances} (${currentInstances} + ${plan.extra} new replica(s) with the new size)`,
    `3. restore the annotation to its previous value (${previousValidation === undefined ? 'absent' : JSON.stringify(previousValidation)})`,
  ]
  const warnings = [
    `Existing ${currentInstances} instance(s) keep their ${plan.currentSize} volumes until you recycle them (delete_cluster_instance); data is re-cloned to new volumes.`,
    'Make sure the data fits in the new size, and that the cluster is healthy before starting.',
  ]
  const followUp = [
    'Next steps:',
    `1. get_cluster_resize_status({"name": "${name}", "namespace": "${target.namespace}"}) until the new replica(s) are healthy`,
    '2. promote_cluster_instance to a resized instance if the primary still has the old size',
    '3. delete_cluster_instance for each instance at the old size (one at a time, waiting for it to be rebuilt)',
    `4. scale_postgres_cluster({"name": "${name}", "namespace": "${target.namespace}", "instances": ${currentInstances}}) to return to the original count (a scale-down: the human is asked to confirm, or add "confirm_scale_down": true when they asked for it)`,
  ]
  const preview = [`Shrinking the storage of cluster ${target.ref} from ${plan.currentSize} to ${plan.desiredSize} will:`, ...steps, '', ...warnings].join('\n')
  const specPatch = {spec: {storage: {size: plan.desiredSize}, instances: targetInstances}}
  context.explain(preview)
  if (context.dryRun) {
    // The three steps depend on each other being stored, so a dry run checks them as one patch.
    await mergePatchCluster(target, name, {metadata: {annotations: {[VALIDATION_ANNOTATION]: 'disabled'}}, ...specPatch}, {action: `shrinking cluster ${target.ref}`, signal: context.signal})
    return {structured: {status: 'shrinking', cluster: target.ref}, target: target.ref, render: () => preview}
  }
  await mergePatchCluster(target, name, {metadata: {annotations: {[VALIDATION_ANNOTATION]: 'disabled'}}}, {action: `disabling validation on cluster ${target.ref} (step 1 of the shrink; nothing else was changed)`, signal: context.signal})
  let specError: unknown
  try {
    await mergePatchCluster(target, name, specPatch, {action: `setting the smaller size on cluster ${target.ref} (step 2 of the shrink)`, signal: context.signal})
  } catch (error) {
    specError = error
  }
  // Always restore, even when step 2 failed or the call was cancelled: hence a signal of its own.
  let restoreError: unknown
  try {
    await mergePatchCluster(target, name, {metadata: {annotations: {[VALIDATION_ANNOTATION]: previousValidation ?? null}}}, {action: `restoring the ${VALIDATION_ANNOTATION} annotation on cluster ${target.ref} (step 3 of the shrink)`, signal: AbortSignal.timeout(30_000)})
  } catch (error) {
    restoreError = error
  }
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error))
  const recoverCall = callExample('resize_postgres_cluster', {name, namespace: target.namespace, restore_validation_only: true})
  if (specError && restoreError) {
    throw new ToolError([
      `The shrink of cluster ${target.ref} was NOT applied: ${message(specError)}`,
      '',
      `In addition, validation could NOT be restored: ${message(restoreError)}`,
      `The cluster is left with annotation ${VALIDATION_ANNOTATION}=disabled and otherwise unchanged (size ${plan.currentSize}, ${currentInstances} instances).`,
      `To recover once the problem is fixed: ${recoverCall}`,
    ].join('\n'))
  }
  if (specError) {
    throw new ToolError(`The shrink of cluster ${target.ref} was NOT applied: ${message(specError)}\n\nThe ${VALIDATION_ANNOTATION} annotation was restored to its previous value; the cluster is unchanged (size ${plan.currentSize}, ${currentInstances} instances).`)
  }
  if (restoreError) {
    throw new ToolError([
      `The shrink of cluster ${target.ref} WAS applied (spec.storage.size=${plan.desiredSize}, spec.instances=${targetInstances}), but validation could NOT be restored: ${message(restoreError)}`,
      `The cluster still has annotation ${VALIDATION_ANNOTATION}=disabled. Re-enable it as soon as possible: ${recoverCall}`,
      '',
      ...followUp,
    ].join('\n'))
  }
  return {
    structured: {status: 'shrinking', cluster: target.ref, previous_size: plan.currentSize, storage_size: plan.desiredSize, previous_instances: currentInstances, instances: targetInstances, validation_restored: true},
    target: target.ref,
    render: () => [`Shrink of cluster ${target.ref} was applied: spec.storage.size ${plan.currentSize} -> ${plan.desiredSize}, spec.instances ${currentInstances} -> ${targetInstances}; validation restored.`, '', ...followUp].join('\n'),
  }
}
