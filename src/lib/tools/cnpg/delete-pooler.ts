import {type ToolReply, defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {namespaceParam} from '../validation.ts'
import {cnpgPath} from './api.ts'
import {loadPooler, poolerNameParam} from './poolers.ts'

export const deletePooler = defineTool({
  name: 'delete_pooler',
  title: 'Delete a PgBouncer pooler',
  description: [
    'Delete a CloudNativePG Pooler: its PgBouncer pods and its Service go away, so applications connecting through it lose access (the cluster and its data are untouched).',
    'Destructive: the human is asked to confirm when the client supports it; otherwise confirm_deletion=true is required. dry_run=true checks the deletion with the API server without doing it.',
    'Example: {"name": "orders-db-pooler-rw", "namespace": "payments", "confirm_deletion": true}.',
    'Errors: 404 when the Pooler does not exist (list_poolers); 403 without delete permission on poolers (cnpg-cloudnative-pg-edit).',
  ].join('\n'),
  input: {name: poolerNameParam, namespace: namespaceParam},
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
