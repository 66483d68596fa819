import {defineTool} from '../registry.ts'
import {namespaceParam} from '../validation.ts'
import {deleteReplicationObject, replicationNameParam} from './logical-replication.ts'

export const deleteSubscription = defineTool({
  name: 'delete_subscription',
  title: 'Delete a logical replication subscription',
  description: [
    'Delete a CloudNativePG Subscription object. With reclaim policy "delete" the operator drops the subscription in PostgreSQL; with "retain" (the default) it stays there unmanaged. Dropping a subscription stops replication.',
    'Destructive: the human is asked to confirm when the client supports it; otherwise confirm_deletion=true is required. dry_run=true checks the deletion with the API server without doing it.',
    'Example: {"name": "orders-subscription", "namespace": "payments", "confirm_deletion": true}.',
    'Errors: 404 when it does not exist (list_subscriptions); 403 without delete permission on subscriptions (cnpg-cloudnative-pg-edit).',
  ].join('\n'),
  input: {name: replicationNameParam('subscription'), namespace: namespaceParam},
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_deletion', when: 'to delete the subscription', message: (args) => `Delete subscription ${String(args.name)}: replication stops.`},
  handler: (args, context) => deleteReplicationObject(context, 'subscription', args),
})
