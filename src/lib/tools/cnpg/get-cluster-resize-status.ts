import {z} from 'zod'
import {defineTool} from '../registry.ts'
import {truncationSchema} from '../budget.ts'
import {compareQuantities, formatParam, namespaceParam} from '../validation.ts'
import type {CnpgCluster} from './api.ts'
import {healthyInstances, loadCluster} from './cluster-ops.ts'
import {type VolumeSummary, listClusterPvcs, quantityOrUndefined, sameSize, summarizeVolume} from './instances.ts'
import {callExample, clusterNameParam} from './params.ts'
import {VALIDATION_ANNOTATION} from './resize-postgres-cluster.ts'
import {once} from '../lazy.ts'

const volumeSchema = once(() => z.object({
  pvc_name: z.string(),
  instance: z.string(),
  pvc_role: z.string().describe('PG_DATA, PG_WAL or PG_TABLESPACE'),
  instance_role: z.string(),
  requested_size: z.string().optional(),
  actual_size: z.string().optional(),
  phase: z.string().optional(),
}))

export const getClusterResizeStatus = defineTool({
  name: 'get_cluster_resize_status',
  title: 'Get PostgreSQL cluster storage resize status',
  description: [
    'Where a storage resize stands: desired size, each instance\'s volume size, which are still old or expanding, and the next step. Use it between the steps of a shrink.',
    'Example: {"name": "orders-db"}.',
    'Errors: 404; 403 (also needs list persistentvolumeclaims).',
  ].join('\n'),
  get input() {
    return {
      name: clusterNameParam(),
      namespace: namespaceParam(),
      format: formatParam(),
    }
  },
  get output() {
    return {
      cluster: z.string(),
      desired_size: z.string(),
      instances: z.number(),
      ready_instances: z.number(),
      phase: z.string(),
      primary: z.string(),
      target_primary: z.string().optional(),
      validation_disabled: z.boolean(),
      resize_complete: z.boolean().describe('Every data volume has the desired size, requested and actual'),
      instances_at_desired_size: z.array(z.string()),
      instances_at_previous_size: z.array(z.string()),
      expanding: z.array(z.string()).describe('Instances whose volume was requested at the desired size but is not that big yet'),
      healthy_instances: z.array(z.string()),
      volumes: z.array(volumeSchema()),
      next_step: z.string(),
      truncated: truncationSchema(),
    }
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const target = await loadCluster(context, args.name, args.namespace)
    const pvcs = await listClusterPvcs(target.kube, target.namespace, args.name, context.signal)
    const volumes = pvcs.map(summarizeVolume).sort((a, b) => a.instance.localeCompare(b.instance) || a.pvc_role.localeCompare(b.pvc_role))
    const structured = assessResize(target.cluster, target.ref, volumes)
    return {structured, listField: 'volumes', render: renderResizeStatus}
  },
})

export type ResizeStatus = ReturnType<typeof assessResize>

/** Compares every data volume with the desired size and decides what the operator (or user) does next. */
export function assessResize(cluster: CnpgCluster, ref: string, volumes: VolumeSummary[]) {
  const desiredSize = cluster.spec.storage?.size ?? 'unspecified'
  const desired = quantityOrUndefined(desiredSize)
  const primary = cluster.status?.currentPrimary || 'unknown'
  const targetPrimary = cluster.status?.targetPrimary
  const healthy = healthyInstances(cluster)
  const atDesired: string[] = []
  const atPrevious: string[] = []
  const expanding: string[] = []
  // Volumes smaller than desired are grown in place by the operator; larger ones (a shrink) must be recycled.
  const toGrow: string[] = []
  for (const volume of volumes.filter((v) => v.pvc_role === 'PG_DATA')) {
    if (!desired || !sameSize(volume.requested_size, desired)) {
      atPrevious.push(volume.instance)
      const requested = quantityOrUndefined(volume.requested_size)
      if (desired && requested && compareQuantities(requested, desired) < 0) toGrow.push(volume.instance)
      continue
    }
    atDesired.push(volume.instance)
    const actual = quantityOrUndefined(volume.actual_size)
    // No reported capacity (a PVC not bound yet) is not evidence of a pending expansion.
    if (actual && compareQuantities(actual, desired) < 0) expanding.push(volume.instance)
  }
  const validationDisabled = cluster.metadata.annotations?.[VALIDATION_ANNOTATION] === 'disabled'
  const name = cluster.metadata.name
  const namespace = cluster.metadata.namespace ?? ''
  const steps: string[] = []
  if (validationDisabled) steps.push(`WARNING: CNPG validation is disabled on this cluster (${VALIDATION_ANNOTATION}=disabled). Re-enable it unless a shrink is running right now: ${callExample('resize_postgres_cluster', {name, namespace, restore_validation_only: true})}`)
  if (targetPrimary && targetPrimary !== primary) {
    steps.push(`A switchover to ${targetPrimary} is in progress (current primary ${primary}). Wait for it to finish, then check again.`)
  } else if (atPrevious.length === 0) {
    steps.push(
      expanding.length > 0
        ? `Volume expansion is still in progress for ${expanding.join(', ')}. Wait and check again; if it never finishes, the StorageClass may not support expansion (kubectl describe pvc -n ${namespace} shows the events).`
        : 'Resize is complete: every data volume has the desired size. If instances were added for a shrink, scale back with scale_postgres_cluster to the original count.',
    )
  } else if (toGrow.length === atPrevious.length) {
    steps.push(`Growing in place: the operator is expanding the volumes of ${toGrow.join(', ')} to ${desiredSize}. Wait and check again; if nothing changes, the StorageClass may not allow volume expansion (kubectl describe pvc -n ${namespace} shows the events).`)
  } else if (atPrevious.includes(primary)) {
    const candidate = atDesired.find((instance) => healthy.includes(instance) && !expanding.includes(instance))
    steps.push(
      candidate
        ? `The primary ${primary} still has the previous size. Promote a resized healthy instance: ${callExample('promote_cluster_instance', {name, namespace, instance: candidate})}`
        : `The primary ${primary} still has the previous size, and no resized instance is healthy yet: wait for the new replica(s) to finish replicating, then check again.`,
    )
  } else {
    const calls = atPrevious.filter((instance) => !toGrow.includes(instance)).map((instance) => callExample('delete_cluster_instance', {name, namespace, instance, confirm_deletion: true}))
    steps.push(`Recycle the replicas still at the previous size, one at a time, waiting for each to be rebuilt healthy before the next:\n${calls.map((c) => `- ${c}`).join('\n')}`)
  }
  return {
    cluster: ref,
    desired_size: desiredSize,
    instances: cluster.spec.instances ?? 1,
    ready_instances: cluster.status?.readyInstances ?? 0,
    phase: cluster.status?.phase || 'Unknown',
    primary,
    target_primary: targetPrimary && targetPrimary !== primary ? targetPrimary : undefined,
    validation_disabled: validationDisabled,
    resize_complete: atPrevious.length === 0 && expanding.length === 0,
    instances_at_desired_size: atDesired.sort(),
    instances_at_previous_size: atPrevious.sort(),
    expanding: expanding.sort(),
    healthy_instances: healthy,
    volumes,
    next_step: steps.join('\n'),
  }
}

function renderResizeStatus(s: ResizeStatus & {truncated?: {omitted_items?: number; how_to_get_the_rest: string}}): string {
  const lines = [
    `**Storage resize status: ${s.cluster}**`,
    `- Desired size: ${s.desired_size}`,
    `- Instances: ${s.ready_instances}/${s.instances} ready`,
    `- Phase: ${s.phase}`,
    `- Primary: ${s.primary}`,
  ]
  if (s.target_primary) lines.push(`- Target primary: ${s.target_primary} (switching)`)
  lines.push(`- Validation: ${s.validation_disabled ? 'DISABLED' : 'enabled'}`, '', '**Volumes:**')
  if (s.volumes.length === 0) lines.push('- none found (the operator has not created any PVCs for this cluster yet)')
  for (const v of s.volumes) {
    const notes = [v.instance === s.primary ? 'primary' : undefined, s.healthy_instances.includes(v.instance) ? 'healthy' : undefined, v.pvc_role === 'PG_DATA' && s.instances_at_previous_size.includes(v.instance) ? 'PREVIOUS SIZE' : undefined].filter(Boolean)
    const size = `${v.requested_size ?? '?'} requested${v.actual_size ? ` / ${v.actual_size} actual` : ''}`
    lines.push(`- ${v.instance}${v.pvc_role === 'PG_DATA' ? '' : ` [${v.pvc_role}]`}: ${size}${notes.length ? ` (${notes.join(', ')})` : ''}`)
  }
  if (s.truncated?.omitted_items) lines.push(`[${s.truncated.omitted_items} more volume(s) left out to stay within the response budget]`)
  lines.push('', '**Next step:**', s.next_step)
  return lines.join('\n')
}
