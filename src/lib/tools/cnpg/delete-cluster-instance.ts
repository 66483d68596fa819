import {type ToolReply, defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {KubeApiError, describeKubeError} from '../../k8s/errors.ts'
import type {KubeClient} from '../../k8s/client.ts'
import {type WaitState, defaultWaitTimeout} from '../wait.ts'
import {namespaceParam} from '../validation.ts'
import type {CnpgCluster} from './api.ts'
import {clusterReadiness, clusterWait, healthyInstances, instanceNames, loadCluster} from './cluster-ops.ts'
import {corePath, listClusterPvcs, volumesOf} from './instances.ts'
import {callExample, clusterNameParam, instanceParam} from './params.ts'

export const deleteClusterInstance = defineTool({
  name: 'delete_cluster_instance',
  title: 'Delete (recycle) one instance of a PostgreSQL cluster',
  description: [
    'Delete one replica with its PVCs; the operator rebuilds it from the primary with fresh volumes at the current storage size. Use it to recycle old-size instances in a shrink or a broken replica. Never the primary (promote first).',
    'Example: {"name": "orders-db", "instance": "orders-db-1", "confirm_deletion": true}.',
    'Errors: 404; 403 without delete on pods and PVCs.',
  ].join('\n'),
  get input() {
    return {
      name: clusterNameParam(),
      instance: instanceParam(),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_deletion', when: 'to delete the instance', message: (args) => `Delete instance ${String(args.instance)} of cluster ${String(args.name)} with its volumes and data.`},
  waits: true,
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
    const requests = [
      ...volumes.map((v) => ({what: `PVC ${v.pvc_name}`, path: corePath('persistentvolumeclaims', namespace, v.pvc_name)})),
      {what: `Pod ${args.instance}`, path: corePath('pods', namespace, args.instance)},
    ]
    context.explain(preview)
    // PVCs first: deleting the Pod first would let the operator restart it on the old volumes.
    const results: string[] = []
    for (const request of requests) results.push(`${request.what}: ${await deleteTolerating404(kube, request, context.signal)}`)
    return {
      structured: {status: 'deleted', cluster: target.ref, instance: args.instance, removed: results},
      target: `${target.ref}/${args.instance}`,
      waitFor: clusterWait(target, args.name, defaultWaitTimeout(1), rebuilt(args.instance)),
      render: () => [`Deleted instance ${args.instance} of cluster ${target.ref}:`, ...results.map((r) => `- ${r}`), `The operator will re-create ${args.instance} with fresh volumes once the old PVCs are gone; follow with get_cluster_resize_status or get_cluster_status.`].join('\n'),
    }
  },
})

async function deleteTolerating404(kube: KubeClient, request: {what: string; path: string}, signal: AbortSignal): Promise<string> {
  try {
    await kube.request({method: 'DELETE', path: request.path, signal})
    return 'deleted'
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return 'was already gone'
    if (error instanceof ToolError) throw error
    throw new ToolError(describeKubeError(error, `deleting ${request.what}`))
  }
}

/**
 * The instance is rebuilt when the cluster is healthy with it among the healthy instances. Right
 * after the deletion the status may still show the old pod healthy, so a first healthy report only
 * counts after the operator was seen working, or after a short grace period.
 */
function rebuilt(instance: string): (cluster: CnpgCluster) => WaitState {
  const started = Date.now()
  let sawWork = false
  return (cluster) => {
    const ready = clusterReadiness(cluster)
    const healthy = healthyInstances(cluster).includes(instance)
    if (!ready.done || !healthy) sawWork = true
    return {done: ready.done && healthy && (sawWork || Date.now() - started > 15_000), message: `${instance} ${healthy ? 'healthy' : 'not healthy yet'}; ${ready.message}`}
  }
}
