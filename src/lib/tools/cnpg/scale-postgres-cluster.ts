import {type ToolReply, defineTool} from '../registry.ts'
import {defaultWaitTimeout} from '../wait.ts'
import {namespaceParam} from '../validation.ts'
import {clusterWait, loadCluster, mergePatchCluster} from './cluster-ops.ts'
import {clusterNameParam, instancesParam} from './params.ts'

export const scalePostgresCluster = defineTool({
  name: 'scale_postgres_cluster',
  title: 'Scale a PostgreSQL cluster',
  description: [
    'Set the number of instances: up adds replicas; down removes the newest replicas and their volumes, never the primary (confirm_scale_down). For storage use resize_postgres_cluster.',
    'Example: {"name": "orders-db", "instances": 5, "wait": true}.',
    'Errors: 404, 403, 422.',
  ].join('\n'),
  get input() {
    return {
      name: clusterNameParam(),
      instances: instancesParam('New total, primary included.'),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false},
  confirm: {flag: 'confirm_scale_down', when: 'to scale down (removes replicas and their volumes; scaling up needs no confirmation)', message: (args) => `Scale cluster ${String(args.name)} to ${String(args.instances)} instance(s).`},
  waits: true,
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const target = await loadCluster(context, args.name, args.namespace)
    // A cluster created without spec.instances runs the CRD default of one instance.
    const current = target.cluster.spec.instances ?? 1
    const change = args.instances - current
    if (change === 0) {
      const structured = {status: 'unchanged', cluster: target.ref, instances: current}
      return {structured, target: target.ref, render: () => `Cluster ${target.ref} already has ${current} instance(s). No change made.`}
    }
    const direction = change > 0 ? `scale up from ${current} to ${args.instances} instances (adds ${change} replica(s))` : `scale down from ${current} to ${args.instances} instances (removes ${-change} replica(s) and their volumes, with their data)`
    context.explain(`Cluster ${target.ref}: ${direction}.`, {destructive: change < 0})
    await mergePatchCluster(target, args.name, {spec: {instances: args.instances}}, {action: `scaling cluster ${target.ref} to ${args.instances} instances`, signal: context.signal})
    const structured: Record<string, unknown> = {status: 'scaling', cluster: target.ref, previous_instances: current, instances: args.instances}
    return {
      structured,
      target: target.ref,
      waitFor: clusterWait(target, args.name, defaultWaitTimeout(Math.abs(change))),
      render: () => `Successfully initiated scaling of cluster ${target.ref}: ${direction}.\nMonitor progress with get_cluster_status({"name": "${args.name}", "namespace": "${target.namespace}"}), or pass wait=true.`,
    }
  },
})
