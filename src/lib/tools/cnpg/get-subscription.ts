import {defineTool} from '../registry.ts'
import {truncationSchema} from '../budget.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {type ReplicationSummary, getReplicationObject, renderReplication, replicationNameParam, replicationSummarySchema, summarizeReplication} from './logical-replication.ts'

export const getSubscription = defineTool({
  name: 'get_subscription',
  title: 'Get one logical replication subscription',
  description: [
    'One Subscription and whether the operator applied it in PostgreSQL, with its message when not.',
    'Example: {"name": "orders-sub"}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {name: replicationNameParam('subscription'), namespace: namespaceParam(), format: formatParam()}
  },
  get output() {
    return replicationSummarySchema().extend({truncated: truncationSchema()}).shape
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const {object} = await getReplicationObject(context, 'subscription', args.name, args.namespace)
    return {structured: summarizeReplication('subscription', object), render: (s: ReplicationSummary) => `**Subscription: ${s.namespace}/${s.name}**\n${renderReplication(s)}`}
  },
})
