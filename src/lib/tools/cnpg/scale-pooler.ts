import {z} from 'zod'
import {type ToolReply, defineTool} from '../registry.ts'
import {renderDryRun} from '../dry-run.ts'
import {confirmDestructive, confirmFlag, notConfirmedStructure, renderNotConfirmed} from '../confirm.ts'
import {dryRunParam, namespaceParam} from '../validation.ts'
import {callExample} from './params.ts'
import {loadPooler, mergePatchPooler, poolerNameParam} from './poolers.ts'

export const scalePooler = defineTool({
  name: 'scale_pooler',
  title: 'Scale a PgBouncer pooler',
  description: [
    'Change the number of PgBouncer pods of a CloudNativePG Pooler (spec.instances). Scaling to 0 stops every PgBouncer pod, so applications using the pooler lose their connections: then the human is asked to confirm (or confirm=true is required when the client cannot ask).',
    'Example: {"name": "orders-db-pooler-rw", "namespace": "payments", "instances": 3}. dry_run=true validates the change with the API server and stores nothing.',
    'Errors: 404 when the Pooler does not exist (list_poolers); 403 without patch permission on poolers (cnpg-cloudnative-pg-edit).',
  ].join('\n'),
  input: {
    name: poolerNameParam,
    instances: z.number().int().min(0).max(10).describe('The new number of PgBouncer pods (0-10); 0 stops the pooler.'),
    confirm: confirmFlag('to scale the pooler to 0 pods'),
    namespace: namespaceParam,
    dry_run: dryRunParam,
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const {kube, namespace, pooler, ref} = await loadPooler(context, args.name, args.namespace)
    const current = pooler.spec.instances ?? 1
    if (current === args.instances) return {structured: {status: 'unchanged', pooler: ref, instances: current}, target: ref, render: () => `Pooler ${ref} already has ${current} PgBouncer pod(s). No change made.`}
    const patch = {spec: {instances: args.instances}}
    const action = `scaling pooler ${ref} to ${args.instances} pods`
    const summary = `Scaling pooler ${ref} from ${current} to ${args.instances} PgBouncer pod(s)${args.instances === 0 ? ': every PgBouncer pod stops and applications connected through it lose their connections' : ''}.`
    if (args.dry_run) {
      await mergePatchPooler(kube, namespace, args.name, patch, {action, dryRun: true, signal: context.signal})
      return {structured: {status: 'dry_run', pooler: ref, current_instances: current, proposed_instances: args.instances}, target: ref, dryRun: true, render: () => renderDryRun({heading: `scale pooler ${ref}`, notes: [summary], nextStep: `To apply: ${callExample('scale_pooler', {name: args.name, namespace, instances: args.instances, confirm: args.instances === 0 || undefined})}`})}
    }
    if (args.instances === 0) {
      const outcome = await confirmDestructive(context, {summary, flag: args.confirm})
      if (!outcome.confirmed) return {structured: {...notConfirmedStructure(outcome), pooler: ref}, target: ref, render: () => renderNotConfirmed({heading: 'SCALING TO ZERO', outcome, preview: summary, flagName: 'confirm', retryCall: callExample('scale_pooler', {name: args.name, namespace, instances: 0, confirm: true})})}
    }
    await mergePatchPooler(kube, namespace, args.name, patch, {action, signal: context.signal})
    return {structured: {status: 'scaling', pooler: ref, previous_instances: current, instances: args.instances}, target: ref, render: () => `Successfully initiated scaling of pooler ${ref} from ${current} to ${args.instances} PgBouncer pod(s). Follow it with get_pooler({"name": "${args.name}", "namespace": "${namespace}"}).`}
  },
})
