import {z} from 'zod'
import {defineTool} from '../registry.ts'
import type {TruncationNote} from '../budget.ts'
import {listCnpgPage, listInput, pageOutput, renderPage} from './list-objects.ts'
import {type ReplicationObject, renderReplication, replicationSummarySchema, summarizeReplication} from './logical-replication.ts'

export const listSubscriptions = defineTool({
  name: 'list_subscriptions',
  title: 'List logical replication subscriptions',
  description: [
    'List Subscriptions (logical replication targets): cluster, database, publication, external cluster, applied or the operator\'s message.',
    'Example: {"cluster": "reporting-db"}.',
    'Errors: 403.',
  ].join('\n'),
  get input() {
    return listInput('subscriptions')
  },
  get output() {
    return {subscriptions: z.array(replicationSummarySchema()), ...pageOutput('subscriptions')}
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const page = await listCnpgPage<ReplicationObject>(context, 'subscriptions', 'subscriptions', args)
    const items = page.items.map((item) => summarizeReplication('subscription', item))
    const structured = {subscriptions: items, count: items.length, scope: page.scope, continue: page.continue}
    return {
      structured,
      listField: 'subscriptions',
      moreHint: 'Call again with a smaller "limit" and page with "continue".',
      render: (s: typeof structured & {truncated?: TruncationNote}) =>
        renderPage({what: 'subscription(s)', scope: s.scope, lines: s.subscriptions.map(renderReplication), continue: s.continue, omitted: s.truncated?.omitted_items, howToGetTheRest: s.truncated?.how_to_get_the_rest, emptyHint: 'Create one with create_subscription.'}),
    }
  },
})
