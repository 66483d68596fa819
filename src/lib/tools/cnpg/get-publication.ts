import {defineTool} from '../registry.ts'
import {truncationSchema} from '../budget.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {type ReplicationSummary, getReplicationObject, renderReplication, replicationNameParam, replicationSummarySchema, summarizeReplication} from './logical-replication.ts'

export const getPublication = defineTool({
  name: 'get_publication',
  title: 'Get one logical replication publication',
  description: [
    'Show one CloudNativePG Publication and its status: whether the operator created it in PostgreSQL (applied), and the operator\'s message when it could not (e.g. a missing table, database or external cluster).',
    'Use it after create_publication to check it was applied.',
    'Example: {"name": "orders-publication", "namespace": "payments"}.',
    'Errors: 404 when it does not exist (list_publications); 403 when kmcp may not read publications there (cnpg-cloudnative-pg-view).',
  ].join('\n'),
  input: {name: replicationNameParam('publication'), namespace: namespaceParam, format: formatParam},
  output: replicationSummarySchema.extend({truncated: truncationSchema}).shape,
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const {object} = await getReplicationObject(context, 'publication', args.name, args.namespace)
    return {structured: summarizeReplication('publication', object), render: (s: ReplicationSummary) => `**Publication: ${s.namespace}/${s.name}**\n${renderReplication(s)}`}
  },
})
