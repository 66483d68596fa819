import {defineTool} from '../registry.ts'
import {truncationSchema} from '../budget.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {type ReplicationSummary, getReplicationObject, renderReplication, replicationNameParam, replicationSummarySchema, summarizeReplication} from './logical-replication.ts'

export const getSubscription = defineTool({
  name: 'get_subscription',
  title: 'Get one logical replication subscription',
  description: [
    'Show one CloudNativePG Subscription and its status: whether the operator created it in PostgreSQL (applied), and the operator\'s message when it could not (e.g. a missing table, database or external cluster).',
    'Use it after create_subscription to check it was applied.',
    'Example: {"name": "orders-subscription", "namespace": "payments"}.',
    'Errors: 404 when it does not exist (list_subscriptions); 403 when kmcp may not read subscriptions there (cnpg-cloudnative-pg-view).',
  ].join('\n'),
  input: {name: replicationNameParam('subscription'), namespace: namespaceParam, format: formatParam},
  output: replicationSummarySchema.extend({truncated: truncationSchema}).shape,
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const {object} = await getReplicationObject(context, 'subscription', args.name, args.namespace)
    return {structured: summarizeReplication('subscription', object), render: (s: ReplicationSummary) => `**Subscription: ${s.namespace}/${s.name}**\n${renderReplication(s)}`}
  },
})
