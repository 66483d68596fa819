import {defineTool} from '../registry.ts'
import {namespaceParam} from '../validation.ts'
import {deleteReplicationObject, replicationNameParam} from './logical-replication.ts'

export const deletePublication = defineTool({
  name: 'delete_publication',
  title: 'Delete a logical replication publication',
  description: [
    'Delete a Publication. Reclaim policy "delete" drops it in PostgreSQL; "retain" (default) leaves it there.',
    'Example: {"name": "orders-pub", "confirm_deletion": true}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {name: replicationNameParam('publication'), namespace: namespaceParam()}
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_deletion', when: 'to delete the publication', message: (args) => `Delete publication ${String(args.name)}.`},
  handler: (args, context) => deleteReplicationObject(context, 'publication', args),
})
