import {z} from 'zod'
import {type ToolReply, defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {KubeApiError, describeKubeError} from '../../k8s/errors.ts'
import type {KubeClient} from '../../k8s/client.ts'
import {confirmDestructive, notConfirmedStructure, renderNotConfirmed, confirmFlag} from '../confirm.ts'
import {renderDryRun} from '../dry-run.ts'
import {dryRunParam, namespaceParam} from '../validation.ts'
import {healthyInstances, instanceNames, loadCluster} from './cluster-ops.ts'
import {corePath, listClusterPvcs, volumesOf} from './instances.ts'
import {callExample, clusterNameParam, instanceParam} from './params.ts'

export const deleteClusterInstance = defineTool({
  name: 'delete_cluster_instance',
  title: 'Delete (recycle) one instance of a PostgreSQL cluster',
  description: [
    'Delete one replica of a CloudNativePG cluster together with its volumes (PVCs); spec.instances stays the same, so the operator rebuilds the instance from the primary with fresh volumes (at the current spec.storage.size); CNPG 1.30 gives it the lowest free instance number, i.e. the same name (at the current spec.storage.size).',
    'Use it to recycle instances still at the previous size during a storage shrink (get_cluster_resize_status lists them), or to rebuild a broken replica. Never the primary: promote_cluster_instance first.',
    'Destructive: the human is asked to confirm when the client supports it; otherwise confirm_deletion=true is required. Without confirmation nothing is changed and the result shows what would be deleted.',
    'Example: {"name": "orders-db", "namespace": "payments", "instance": "orders-db-1", "confirm_deletion": true}.',
    'Errors: 404 when the cluster does not exist; 403 when kmcp may not list/delete PVCs or delete Pods in the namespace (core permissions beyond the CNPG roles).',
  ].join('\n'),
  input: {
    name: clusterNameParam,
    instance: instanceParam,
    confirm_deletion: confirmFlag('to delete the instance'),
    namespace: namespaceParam,
    dry_run: dryRunParam,
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const target = await loadCluster(context, args.name, args.namespace)
    const {cluster, kube, namespace} = target
    const known = instanceNames(cluster)
    if (!known.includes(args.instance)) {
      throw new ToolError(`Instance "${args.instance}" is not part of cluster ${target.ref}. Its instances are: ${known.join(', ') || 'none reported yet'}.`)
    }
    if (cluster.status?.currentPrimary === args.instance) {
      throw new ToolError(`Instance ${args.instance} is the current primary of cluster ${target.ref} and cannot be deleted. Promote another healthy instance first: ${callExample('promote_cluster_instance', {name: args.name, namespace, instance: healthyInstances(cluster).find((i) => i !== args.instance) ?? '<replica>'})}`)
    }
    const volumes = volumesOf(await listClusterPvcs(kube, namespace, args.name, context.signal), args.instance)
    const remaining = healthyInstances(cluster).filter((i) => i !== args.instance)
    const preview = [
      `Deleting instance ${args.instance} of cluster ${target.ref} removes:`,
      `- Pod ${args.instance}`,
      ...(volumes.length ? volumes.map((v) => `- PVC ${v.pvc_name} (${v.pvc_role}, ${v.requested_size ?? 'unknown size'}) and its data`) : ['- no PVCs found for this instance']),
      `spec.instances stays ${cluster.spec.instances ?? 1}: the operator rebuilds ${args.instance} (same name) from the primary with new volumes.`,
      `Healthy instances remaining meanwhile: ${remaining.join(', ') || 'none'}.`,
    ].join('\n')
    const retryCall = callExample('delete_cluster_instance', {name: args.name, namespace, instance: args.instance, confirm_deletion: true})
    const requests = [
      ...volumes.map((v) => ({what: `PVC ${v.pvc_name}`, path: corePath('persistentvolumeclaims', namespace, v.pvc_name)})),
      {what: `Pod ${args.instance}`, path: corePath('pods', namespace, args.instance)},
    ]

    if (args.dry_run) {
      for (const request of requests) await deleteTolerating404(kube, request, context.signal, true)
      return {
        structured: {status: 'dry_run', cluster: target.ref, instance: args.instance, pvcs: volumes.map((v) => v.pvc_name)},
        target: `${target.ref}/${args.instance}`,
        dryRun: true,
        render: () => renderDryRun({heading: `delete instance ${args.instance} of cluster ${target.ref}`, notes: ['', preview], nextStep: `To delete it (only if the user asked): ${retryCall}`}),
      }
    }
    const outcome = await confirmDestructive(context, {summary: preview, flag: args.confirm_deletion})
    if (!outcome.confirmed) {
      return {
        structured: {...notConfirmedStructure(outcome), cluster: target.ref, instance: args.instance},
        target: `${target.ref}/${args.instance}`,
        render: () => renderNotConfirmed({heading: 'DELETION', outcome, preview, flagName: 'confirm_deletion', retryCall}),
      }
    }
    // PVCs first: deleting the Pod first would let the operator restart it on the old volumes.
    const results: string[] = []
    for (const request of requests) results.push(`${request.what}: ${await deleteTolerating404(kube, request, context.signal, false)}`)
    return {
      structured: {status: 'deleted', cluster: target.ref, instance: args.instance, confirmed_by: outcome.via, removed: results},
      target: `${target.ref}/${args.instance}`,
      render: () => [`Deleted instance ${args.instance} of cluster ${target.ref}:`, ...results.map((r) => `- ${r}`), `The operator will re-create ${args.instance} with fresh volumes once the old PVCs are gone; follow with get_cluster_resize_status or get_cluster_status.`].join('\n'),
    }
  },
})

async function deleteTolerating404(kube: KubeClient, request: {what: string; path: string}, signal: AbortSignal, dryRun: boolean): Promise<string> {
  try {
    await kube.request({method: 'DELETE', path: request.path, query: dryRun ? {dryRun: 'All'} : undefined, signal})
    return 'deleted'
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return 'was already gone'
    throw new ToolError(describeKubeError(error, `deleting ${request.what}${dryRun ? ' (dry run)' : ''}`))
  }
}
