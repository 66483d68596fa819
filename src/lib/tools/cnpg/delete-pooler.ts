import {type ToolReply, defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {namespaceParam} from '../validation.ts'
import {cnpgPath} from './api.ts'
import {loadPooler, poolerNameParam} from './poolers.ts'

export const deletePooler = defineTool({
  name: 'delete_pooler',
  title: 'Delete a PgBouncer pooler',
  description: [
    'Delete a Pooler with its pods and Service: clients using it lose access; the cluster is untouched.',
    'Example: {"name": "orders-db-pooler-rw", "confirm_deletion": true}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {name: poolerNameParam(), namespace: namespaceParam()}
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_deletion', when: 'to delete the pooler', message: (args) => `Delete pooler ${String(args.name)}: applications connecting through it lose access.`},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const {kube, namespace, pooler, ref} = await loadPooler(context, args.name, args.namespace)
    context.explain(`Deleting pooler ${ref} (${pooler.spec.type ?? 'rw'} for cluster ${pooler.spec.cluster.name}) removes its PgBouncer pods and Service ${args.name}: applications connecting through it lose access. The cluster is not touched.`)
    // The uid precondition makes sure a pooler re-created under the same name meanwhile survives.
    const request = {method: 'DELETE' as const, path: cnpgPath('poolers', namespace, args.name), body: {apiVersion: 'v1', kind: 'DeleteOptions', preconditions: {uid: pooler.metadata.uid}}, signal: context.signal}
    await kubeStep(`deleting pooler ${ref}`, () => kube.request(request))
    return {structured: {status: 'deleted', pooler: ref}, target: ref, render: () => `Successfully deleted pooler ${ref}. Its PgBouncer pods and Service are being removed.`}
  },
})
