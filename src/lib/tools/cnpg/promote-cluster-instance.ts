import {z} from 'zod'
import {type ToolReply, defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import type {WaitState} from '../wait.ts'
import {namespaceParam} from '../validation.ts'
import type {CnpgCluster} from './api.ts'
import {clusterReadiness, clusterWait, healthyInstances, instanceNames, loadCluster, mergePatchCluster} from './cluster-ops.ts'
import {clusterNameParam, instanceParam} from './params.ts'

/** status.phase while the operator moves the primary (CNPG's PhaseSwitchover). */
export const SWITCHOVER_PHASE = 'Switchover in progress'

export const promoteClusterInstance = defineTool({
  name: 'promote_cluster_instance',
  title: 'Promote a replica to primary (switchover)',
  description: [
    'Switch the primary over to another instance (like "kubectl cnpg promote"): a few seconds without writes. Refused for an unknown, unhealthy or already primary instance, or during a switchover.',
    'Example: {"name": "orders-db", "instance": "orders-db-3", "wait": true}.',
    'Errors: 404; 403 without patch on clusters/status.',
  ].join('\n'),
  get input() {
    return {
      name: clusterNameParam(),
      instance: instanceParam(),
      force: z.boolean().default(false).describe('Promote an unhealthy instance (may lose data); only if the user asked.'),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  waits: true,
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const target = await loadCluster(context, args.name, args.namespace)
    const {cluster} = target
    const known = instanceNames(cluster)
    if (known.length > 0 && !known.includes(args.instance)) {
      throw new ToolError(`Instance "${args.instance}" is not part of cluster ${target.ref}. Its instances are: ${known.join(', ')}.`)
    }
    const primary = cluster.status?.currentPrimary
    const pending = cluster.status?.targetPrimary
    if (pending && pending !== primary) {
      throw new ToolError(`A switchover or failover of cluster ${target.ref} to ${pending} is already in progress (current primary ${primary ?? 'unknown'}). Wait for it to finish (get_cluster_status), then try again.`)
    }
    if (primary === args.instance) {
      return {structured: {status: 'unchanged', cluster: target.ref, primary}, target: target.ref, render: () => `Instance ${args.instance} is already the primary of cluster ${target.ref}. No change made.`}
    }
    const healthy = healthyInstances(cluster)
    const unhealthy = !healthy.includes(args.instance)
    if (unhealthy && !args.force) {
      throw new ToolError(`Instance ${args.instance} is not currently reported healthy (healthy instances: ${healthy.join(', ') || 'none'}). Promoting it could lose recent transactions. Wait until it is healthy, pick a healthy instance, or pass force=true if the user accepts the risk.`)
    }
    const patch = switchoverPatch(cluster, args.instance)
    context.explain(`Switchover of cluster ${target.ref} from ${primary ?? 'unknown'} to ${args.instance}: it sets status.targetPrimary; the operator then demotes the current primary and promotes the target (writes pause for a few seconds).`)
    await mergePatchCluster(target, args.name, patch, {action: `promoting ${args.instance} to primary of cluster ${target.ref}`, subresource: 'status', signal: context.signal})
    const lines = [
      `Successfully requested switchover of cluster ${target.ref}: ${primary ?? 'unknown'} -> ${args.instance} (status.targetPrimary set).`,
      `The operator now demotes the current primary and promotes ${args.instance}; writes pause for a few seconds. Check with get_cluster_status({"name": "${args.name}", "namespace": "${target.namespace}"}).`,
    ]
    if (unhealthy) lines.push(`WARNING: ${args.instance} was not reported healthy; it was promoted because force=true.`)
    return {
      structured: {status: 'switchover_requested', cluster: target.ref, previous_primary: primary ?? 'unknown', target_primary: args.instance, forced: unhealthy},
      target: target.ref,
      waitFor: clusterWait(target, args.name, 120, promotedTo(args.instance)),
      render: () => lines.join('\n'),
    }
  },
})

/** The switchover is over when the operator reports the instance as current and target primary, and the cluster healthy. */
function promotedTo(instance: string): (cluster: CnpgCluster) => WaitState {
  return (cluster) => {
    const current = cluster.status?.currentPrimary
    const ready = clusterReadiness(cluster)
    const switched = current === instance && cluster.status?.targetPrimary === instance
    return {done: switched && ready.done, message: `primary: ${current ?? 'unknown'} (target ${cluster.status?.targetPrimary ?? 'unknown'}), ${ready.message}`}
  }
}

/**
 * The status change "kubectl cnpg promote" makes: the target primary with its timestamp, the
 * switchover phase and a Ready condition that is no longer true. resourceVersion makes the merge
 * patch fail with 409 if the operator changed the status meanwhile, instead of overwriting it.
 */
function switchoverPatch(cluster: CnpgCluster, instance: string): Record<string, unknown> {
  const now = new Date().toISOString().replace(/Z$/, '000Z')
  const conditions = (cluster.status?.conditions ?? []).filter((c) => c.type !== 'Ready')
  const ready = cluster.status?.conditions?.find((c) => c.type === 'Ready')
  const notReady = {type: 'Ready', status: 'False', reason: 'ClusterIsNotReady', message: 'Cluster Is Not Ready', lastTransitionTime: ready?.status === 'False' ? ready.lastTransitionTime : now.replace(/\.\d+Z$/, 'Z')}
  return {
    metadata: {resourceVersion: cluster.metadata.resourceVersion},
    status: {targetPrimary: instance, targetPrimaryTimestamp: now, phase: SWITCHOVER_PHASE, phaseReason: `Switching over to ${instance}`, conditions: [...conditions, notReady]},
  }
}
