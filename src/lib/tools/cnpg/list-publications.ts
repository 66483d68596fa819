import {z} from 'zod'
import {defineTool} from '../registry.ts'
import type {TruncationNote} from '../budget.ts'
import {listCnpgPage, listInput, pageOutput, renderPage} from './list-objects.ts'
import {type ReplicationObject, renderReplication, replicationSummarySchema, summarizeReplication} from './logical-replication.ts'

export const listPublications = defineTool({
  name: 'list_publications',
  title: 'List logical replication publications',
  description: [
    'List Publications (logical replication sources): cluster, database, PostgreSQL name, what is published, applied or the operator\'s message.',
    'Example: {"cluster": "orders-db"}.',
    'Errors: 403.',
  ].join('\n'),
  get input() {
    return listInput('publications')
  },
  get output() {
    return {publications: z.array(replicationSummarySchema()), ...pageOutput('publications')}
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const page = await listCnpgPage<ReplicationObject>(context, 'publications', 'publications', args)
    const items = page.items.map((item) => summarizeReplication('publication', item))
    const structured = {publications: items, count: items.length, scope: page.scope, continue: page.continue}
    return {
      structured,
      listField: 'publications',
      moreHint: 'Call again with a smaller "limit" and page with "continue".',
      render: (s: typeof structured & {truncated?: TruncationNote}) =>
        renderPage({what: 'publication(s)', scope: s.scope, lines: s.publications.map(renderReplication), continue: s.continue, omitted: s.truncated?.omitted_items, howToGetTheRest: s.truncated?.how_to_get_the_rest, emptyHint: 'Create one with create_publication.'}),
    }
  },
})
