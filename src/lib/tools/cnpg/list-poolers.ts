import {z} from 'zod'
import {defineTool} from '../registry.ts'
import type {TruncationNote} from '../budget.ts'
import {listCnpgPage, listInput, pageOutput, renderPage} from './list-objects.ts'
import {type CnpgPooler, poolerSummarySchema, renderPooler, summarizePooler} from './poolers.ts'

export const listPoolers = defineTool({
  name: 'list_poolers',
  title: 'List PgBouncer poolers',
  description: [
    'List PgBouncer Poolers: cluster, type, instances, pool mode, paused, phase.',
    'Example: {"cluster": "orders-db"}.',
    'Errors: 403.',
  ].join('\n'),
  get input() {
    return listInput('poolers')
  },
  get output() {
    return {poolers: z.array(poolerSummarySchema()), ...pageOutput('poolers')}
  },
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
