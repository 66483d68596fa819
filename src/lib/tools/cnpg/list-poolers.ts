import {z} from 'zod'
import {defineTool} from '../registry.ts'
import type {TruncationNote} from '../budget.ts'
import {listCnpgPage, listInput, pageOutput, renderPage} from './list-objects.ts'
import {type CnpgPooler, poolerSummarySchema, renderPooler, summarizePooler} from './poolers.ts'

export const listPoolers = defineTool({
  name: 'list_poolers',
  title: 'List PgBouncer poolers',
  description: [
    'List the CloudNativePG Poolers (PgBouncer connection poolers): the cluster each serves, type (rw to the primary, ro to replicas), PgBouncer instances, pool mode, paused or not, phase.',
    'Use it before creating a pooler (one per cluster and type is usual) or to find the Service applications should connect to (same name as the Pooler). get_pooler shows one with its pods.',
    'Example: {"namespace": "payments", "cluster": "orders-db"}; everywhere: {"all_namespaces": true}.',
    'Errors: 403 when kmcp may not list poolers in the namespace (cnpg-cloudnative-pg-view).',
  ].join('\n'),
  input: listInput('poolers'),
  output: {poolers: z.array(poolerSummarySchema), ...pageOutput('poolers')},
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const page = await listCnpgPage<CnpgPooler>(context, 'poolers', 'poolers', args)
    const poolers = page.items.map(summarizePooler)
    const structured = {poolers, count: poolers.length, scope: page.scope, continue: page.continue}
    return {
      structured,
      listField: 'poolers',
      moreHint: 'Call again with a smaller "limit" and page with "continue".',
      render: (s: typeof structured & {truncated?: TruncationNote}) =>
        renderPage({what: 'pooler(s)', scope: s.scope, lines: s.poolers.map(renderPooler), continue: s.continue, omitted: s.truncated?.omitted_items, howToGetTheRest: s.truncated?.how_to_get_the_rest, emptyHint: 'Create one with create_pooler.'}),
    }
  },
})
