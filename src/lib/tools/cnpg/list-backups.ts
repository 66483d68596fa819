import {z} from 'zod'
import {defineTool} from '../registry.ts'
import type {TruncationNote} from '../budget.ts'
import {type CnpgBackup, backupSummarySchema, renderBackup, summarizeBackup} from './backups.ts'
import {listCnpgPage, listInput, renderPage, pageOutput} from './list-objects.ts'

export const listBackups = defineTool({
  name: 'list_backups',
  title: 'List PostgreSQL backups',
  description: [
    'List Backup objects, newest first: cluster, method, phase, times, error. Use it to check backups succeed or find a backup_name for restore_postgres_cluster.',
    'Example: {"cluster": "orders-db"}; everywhere: {"all_namespaces": true}.',
    'Errors: 403.',
  ].join('\n'),
  get input() {
    return listInput('backups')
  },
  get output() {
    return {
      backups: z.array(backupSummarySchema()),
      ...pageOutput('backups'),
    }
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const page = await listCnpgPage<CnpgBackup>(context, 'backups', 'backups', args)
    const backups = page.items.map(summarizeBackup).sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''))
    const structured = {backups, count: backups.length, scope: page.scope, continue: page.continue}
    return {
      structured,
      listField: 'backups',
      moreHint: 'Call again with a smaller "limit" and page with "continue".',
      render: (s: typeof structured & {truncated?: TruncationNote}) =>
        renderPage({what: 'backup(s)', scope: s.scope, lines: s.backups.map(renderBackup), continue: s.continue, omitted: s.truncated?.omitted_items, howToGetTheRest: s.truncated?.how_to_get_the_rest, emptyHint: 'Take one with create_backup.'}),
    }
  },
})
