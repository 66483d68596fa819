import {defineTool} from '../registry.ts'
import {namespaceParam} from '../validation.ts'
import {deleteReplicationObject, replicationNameParam} from './logical-replication.ts'

export const deletePublication = defineTool({
  name: 'delete_publication',
  title: 'Delete a logical replication publication',
  description: [
    'Delete a CloudNativePG Publication object. With reclaim policy "delete" the operator drops the publication in PostgreSQL; with "retain" (the default) it stays there unmanaged.',
    'Destructive: the human is asked to confirm when the client supports it; otherwise confirm_deletion=true is required. dry_run=true checks the deletion with the API server without doing it.',
    'Example: {"name": "orders-publication", "namespace": "payments", "confirm_deletion": true}.',
    'Errors: 404 when it does not exist (list_publications); 403 without delete permission on publications (cnpg-cloudnative-pg-edit).',
  ].join('\n'),
  input: {name: replicationNameParam('publication'), namespace: namespaceParam},
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_deletion', when: 'to delete the publication', message: (args) => `Delete publication ${String(args.name)}.`},
  handler: (args, context) => deleteReplicationObject(context, 'publication', args),
})
