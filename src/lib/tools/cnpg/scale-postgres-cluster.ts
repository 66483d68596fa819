import {type ToolReply, defineTool} from '../registry.ts'
import {describeWait, waitParam, waitTimeoutParam, defaultWaitTimeout} from '../wait.ts'
import {dryRunParam, namespaceParam} from '../validation.ts'
import {renderDryRun} from '../dry-run.ts'
import {loadCluster, mergePatchCluster, waitForCluster} from './cluster-ops.ts'
import {callExample, clusterNameParam, instancesParam} from './params.ts'

export const scalePostgresCluster = defineTool({
  name: 'scale_postgres_cluster',
  title: 'Scale a PostgreSQL cluster',
  description: [
    'Change the number of instances of a CloudNativePG cluster (spec.instances): scaling up adds streaming replicas, scaling down removes the most recently created replicas and their volumes (never the primary).',
    'Use it to add read capacity or high availability, or to remove replicas. To change storage size use resize_postgres_cluster instead.',
    'Example: {"name": "orders-db", "namespace": "payments", "instances": 5, "wait": true}. dry_run=true validates the change with the API server and stores nothing.',
    'Errors: 404 when the cluster does not exist; 403 without patch permission on clusters (cnpg-cloudnative-pg-edit); 422 when the API server rejects the new spec.',
  ].join('\n'),
  input: {
    name: clusterNameParam,
    instances: instancesParam('The new total number of instances (1-10), primary included.'),
    wait: waitParam,
    timeout: waitTimeoutParam,
    namespace: namespaceParam,
    dry_run: dryRunParam,
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const target = await loadCluster(context, args.name, args.namespace)
    // A cluster created without spec.instances runs the CRD default of one instance.
    const current = target.cluster.spec.instances ?? 1
    const change = args.instances - current
    const direction = change > 0 ? `scale up from ${current} to ${args.instances} instances (adds ${change} replica(s))` : `scale down from ${current} to ${args.instances} instances (removes ${-change} replica(s) and their volumes)`
    if (change === 0) {
      const structured = {status: 'unchanged', cluster: target.ref, instances: current}
      return {structured, target: target.ref, render: () => `Cluster ${target.ref} already has ${current} instance(s). No change made.`}
    }
    const patch = {spec: {instances: args.instances}}
    const action = `scaling cluster ${target.ref} to ${args.instances} instances`
    if (args.dry_run) {
      const preview = await mergePatchCluster(target, args.name, patch, {action, dryRun: true, signal: context.signal})
      const structured = {status: 'dry_run', cluster: target.ref, current_instances: current, proposed_instances: args.instances}
      return {
        structured,
        target: target.ref,
        dryRun: true,
        render: () => renderDryRun({heading: `${direction} for cluster ${target.ref}`, object: preview as unknown as Record<string, unknown>, nextStep: `To apply: ${callExample('scale_postgres_cluster', {name: args.name, namespace: target.namespace, instances: args.instances})}`}),
      }
    }
    await mergePatchCluster(target, args.name, patch, {action, signal: context.signal})
    const structured: Record<string, unknown> = {status: 'scaling', cluster: target.ref, previous_instances: current, instances: args.instances}
    let waitText = `Monitor progress with get_cluster_status({"name": "${args.name}", "namespace": "${target.namespace}"}).`
    if (args.wait) {
      const timeout = args.timeout ?? defaultWaitTimeout(Math.abs(change))
      const result = await waitForCluster(target.kube, context, target.namespace, args.name, timeout)
      waitText = describeWait(result, `Cluster ${target.ref}`, timeout)
      structured.wait = {outcome: result.outcome, message: result.lastMessage, elapsed_seconds: result.elapsedSeconds}
    }
    return {structured, target: target.ref, render: () => `Successfully initiated scaling of cluster ${target.ref}: ${direction}.\n${waitText}`}
  },
})
