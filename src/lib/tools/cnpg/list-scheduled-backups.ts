import {z} from 'zod'
import {defineTool} from '../registry.ts'
import type {TruncationNote} from '../budget.ts'
import {type CnpgScheduledBackup, renderScheduledBackup, scheduledBackupSummarySchema, summarizeScheduledBackup} from './backups.ts'
import {listCnpgPage, listInput, renderPage, pageOutput} from './list-objects.ts'

export const listScheduledBackups = defineTool({
  name: 'list_scheduled_backups',
  title: 'List scheduled PostgreSQL backups',
  description: [
    'List ScheduledBackups: cluster, schedule, method, suspended, last and next run.',
    'Example: {"cluster": "orders-db"}.',
    'Errors: 403.',
  ].join('\n'),
  get input() {
    return listInput('scheduled backups')
  },
  get output() {
    return {
      scheduled_backups: z.array(scheduledBackupSummarySchema()),
      ...pageOutput('scheduled backups'),
    }
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const page = await listCnpgPage<CnpgScheduledBackup>(context, 'scheduledbackups', 'scheduled backups', args)
    const items = page.items.map(summarizeScheduledBackup)
    const structured = {scheduled_backups: items, count: items.length, scope: page.scope, continue: page.continue}
    return {
      structured,
      listField: 'scheduled_backups',
      moreHint: 'Call again with a smaller "limit" and page with "continue".',
      render: (s: typeof structured & {truncated?: TruncationNote}) =>
        renderPage({what: 'scheduled backup(s)', scope: s.scope, lines: s.scheduled_backups.map(renderScheduledBackup), continue: s.continue, omitted: s.truncated?.omitted_items, howToGetTheRest: s.truncated?.how_to_get_the_rest, emptyHint: 'Create one with create_scheduled_backup.'}),
    }
  },
})
