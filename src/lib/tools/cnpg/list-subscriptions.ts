import {z} from 'zod'
import {defineTool} from '../registry.ts'
import type {TruncationNote} from '../budget.ts'
import {listCnpgPage, listInput, pageOutput, renderPage} from './list-objects.ts'
import {type ReplicationObject, renderReplication, replicationSummarySchema, summarizeReplication} from './logical-replication.ts'

export const listSubscriptions = defineTool({
  name: 'list_subscriptions',
  title: 'List logical replication subscriptions',
  description: [
    'List the CloudNativePG Subscription objects (logical replication targets): the cluster and database, the name in PostgreSQL, the publication and external cluster it subscribes to, whether the operator applied it, and its message when not.',
    'Example: {"namespace": "payments", "cluster": "orders-db"}; everywhere: {"all_namespaces": true}.',
    'Errors: 403 when kmcp may not list subscriptions in the namespace (cnpg-cloudnative-pg-view).',
  ].join('\n'),
  input: listInput('subscriptions'),
  output: {subscriptions: z.array(replicationSummarySchema), ...pageOutput('subscriptions')},
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
