import {type ToolReply, defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {confirmDestructive, confirmFlag, notConfirmedStructure, renderNotConfirmed} from '../confirm.ts'
import {renderDryRun, serverDryRun} from '../dry-run.ts'
import {dryRunParam, namespaceParam} from '../validation.ts'
import {cnpgPath} from './api.ts'
import {callExample} from './params.ts'
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
  input: {name: poolerNameParam, confirm_deletion: confirmFlag('to delete the pooler'), namespace: namespaceParam, dry_run: dryRunParam},
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const {kube, namespace, pooler, ref} = await loadPooler(context, args.name, args.namespace)
    const preview = `Deleting pooler ${ref} (${pooler.spec.type ?? 'rw'} for cluster ${pooler.spec.cluster.name}) removes its PgBouncer pods and Service ${args.name}: applications connecting through it lose access. The cluster is not touched.`
    const request = {method: 'DELETE' as const, path: cnpgPath('poolers', namespace, args.name), body: {apiVersion: 'v1', kind: 'DeleteOptions', preconditions: {uid: pooler.metadata.uid}}, signal: context.signal}
    const action = `deleting pooler ${ref}`
    const retryCall = callExample('delete_pooler', {name: args.name, namespace, confirm_deletion: true})
    if (args.dry_run) {
      await serverDryRun(kube, request, action)
      return {structured: {status: 'dry_run', pooler: ref}, target: ref, dryRun: true, render: () => renderDryRun({heading: `delete pooler ${ref}`, notes: [preview], nextStep: `To delete it (only if the user asked): ${retryCall}`})}
    }
    const outcome = await confirmDestructive(context, {summary: preview, flag: args.confirm_deletion})
    if (!outcome.confirmed) return {structured: {...notConfirmedStructure(outcome), pooler: ref}, target: ref, render: () => renderNotConfirmed({heading: 'DELETION', outcome, preview, flagName: 'confirm_deletion', retryCall})}
    await kubeStep(action, () => kube.request(request))
    return {structured: {status: 'deleted', pooler: ref}, target: ref, render: () => `Successfully deleted pooler ${ref}. Its PgBouncer pods and Service are being removed.`}
  },
})
