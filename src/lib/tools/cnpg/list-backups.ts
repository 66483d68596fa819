import {z} from 'zod'
import {defineTool} from '../registry.ts'
import type {TruncationNote} from '../budget.ts'
import {type CnpgBackup, backupSummarySchema, renderBackup, summarizeBackup} from './backups.ts'
import {listCnpgPage, listInput, renderPage, pageOutput} from './list-objects.ts'

export const listBackups = defineTool({
  name: 'list_backups',
  title: 'List PostgreSQL backups',
  description: [
    'List the CloudNativePG Backup objects, newest first within the page: cluster, method, phase (new, started, running, completed, failed…), start/stop times and error.',
    'Use it to check that backups succeed, to find the backup_name for restore_postgres_cluster, or to follow a backup started with create_backup.',
    'Example: {"namespace": "payments", "cluster": "orders-db"}; everywhere: {"all_namespaces": true, "limit": 50}. Long lists come in pages: pass back "continue".',
    'Errors: 403 when kmcp may not list backups in the namespace (cnpg-cloudnative-pg-view).',
  ].join('\n'),
  input: listInput('backups'),
  output: {
    backups: z.array(backupSummarySchema),
    ...pageOutput('backups'),
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
