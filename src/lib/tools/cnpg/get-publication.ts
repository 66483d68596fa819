import {defineTool} from '../registry.ts'
import {truncationSchema} from '../budget.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {type ReplicationSummary, getReplicationObject, renderReplication, replicationNameParam, replicationSummarySchema, summarizeReplication} from './logical-replication.ts'

export const getPublication = defineTool({
  name: 'get_publication',
  title: 'Get one logical replication publication',
  description: [
    'One Publication and whether the operator applied it in PostgreSQL, with its message when not.',
    'Example: {"name": "orders-pub"}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {name: replicationNameParam('publication'), namespace: namespaceParam(), format: formatParam()}
  },
  get output() {
    return replicationSummarySchema().extend({truncated: truncationSchema()}).shape
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const {object} = await getReplicationObject(context, 'publication', args.name, args.namespace)
    return {structured: summarizeReplication('publication', object), render: (s: ReplicationSummary) => `**Publication: ${s.namespace}/${s.name}**\n${renderReplication(s)}`}
  },
})
