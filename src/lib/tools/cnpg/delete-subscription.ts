import {defineTool} from '../registry.ts'
import {namespaceParam} from '../validation.ts'
import {deleteReplicationObject, replicationNameParam} from './logical-replication.ts'

export const deleteSubscription = defineTool({
  name: 'delete_subscription',
  title: 'Delete a logical replication subscription',
  description: [
    'Delete a Subscription: replication stops. Reclaim policy "delete" drops it in PostgreSQL; "retain" (default) leaves it there.',
    'Example: {"name": "orders-sub", "confirm_deletion": true}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {name: replicationNameParam('subscription'), namespace: namespaceParam()}
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_deletion', when: 'to delete the subscription', message: (args) => `Delete subscription ${String(args.name)}: replication stops.`},
  handler: (args, context) => deleteReplicationObject(context, 'subscription', args),
})
