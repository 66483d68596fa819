import {z} from 'zod'
import {type ToolReply, defineTool} from '../registry.ts'
import {namespaceParam} from '../validation.ts'
import {loadPooler, mergePatchPooler, poolerNameParam} from './poolers.ts'

export const scalePooler = defineTool({
  name: 'scale_pooler',
  title: 'Scale a PgBouncer pooler',
  description: [
    'Set the number of PgBouncer pods. 0 drops every client connection (confirm).',
    'Example: {"name": "orders-db-pooler-rw", "instances": 3}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {
      name: poolerNameParam(),
      instances: z.number().int().min(0).max(10).describe('PgBouncer pods; 0 stops it.'),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false},
  confirm: {flag: 'confirm', when: 'to scale the pooler to 0 pods (other sizes need no confirmation)', message: (args) => `Scale pooler ${String(args.name)} to ${String(args.instances)} PgBouncer pod(s).`},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const {kube, namespace, pooler, ref} = await loadPooler(context, args.name, args.namespace)
    const current = pooler.spec.instances ?? 1
    if (current === args.instances) return {structured: {status: 'unchanged', pooler: ref, instances: current}, target: ref, render: () => `Pooler ${ref} already has ${current} PgBouncer pod(s). No change made.`}
    const patch = {spec: {instances: args.instances}}
    const action = `scaling pooler ${ref} to ${args.instances} pods`
    const summary = `Scaling pooler ${ref} from ${current} to ${args.instances} PgBouncer pod(s)${args.instances === 0 ? ': every PgBouncer pod stops and applications connected through it lose their connections' : ''}.`
    // Only scaling to 0 cuts applications off; other sizes are not confirmed.
    context.explain(summary, {destructive: args.instances === 0})
    await mergePatchPooler(kube, namespace, args.name, patch, {action, signal: context.signal})
    return {structured: {status: 'scaling', pooler: ref, previous_instances: current, instances: args.instances}, target: ref, render: () => `Successfully initiated scaling of pooler ${ref} from ${current} to ${args.instances} PgBouncer pod(s). Follow it with get_pooler({"name": "${args.name}", "namespace": "${namespace}"}).`}
  },
})
