import {z} from 'zod'
import {defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {truncationSchema} from '../budget.ts'
import {continueParam, formatParam, kubeName, limitParam, namespaceParam} from '../validation.ts'
import {type ObjectList, cnpgPath} from './api.ts'
import {type CnpgBackup, backupSummarySchema, renderBackup, summarizeBackup} from './backups.ts'

export const listBackups = defineTool({
  name: 'list_backups',
  title: 'List PostgreSQL backups',
  description: [
    'List the CloudNativePG Backup objects in a namespace, newest first within the page: cluster, method, phase (new, started, running, completed, failed…), start/stop times and error.',
    'Use it to check that backups succeed, to find the backup_name for restore_postgres_cluster, or to follow a backup started with create_backup.',
    'Example: {"namespace": "payments", "cluster": "orders-db"}. Long lists come in pages: pass back "continue".',
    'Errors: 403 when kmcp may not list backups in the namespace (cnpg-cloudnative-pg-view).',
  ].join('\n'),
  input: {
    namespace: namespaceParam,
    cluster: kubeName('cluster', {maxLength: 50, description: 'Only backups of this cluster (applied to each page).'}).optional(),
    format: formatParam,
    limit: limitParam,
    continue: continueParam,
  },
  output: {
    backups: z.array(backupSummarySchema),
    count: z.number(),
    scope: z.string(),
    continue: z.string().optional().describe('Pass back as "continue" to get the next page'),
    truncated: truncationSchema,
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const scope = `namespace ${namespace}${args.cluster ? `, cluster ${args.cluster}` : ''}`
    const list = await kubeStep(`listing backups in namespace ${namespace}`, () =>
      kube.request<ObjectList<CnpgBackup>>({method: 'GET', path: cnpgPath('backups', namespace), query: {limit: args.limit, continue: args.continue}, signal: context.signal}),
    )
    const backups = list.items
      .filter((b) => !args.cluster || b.spec.cluster?.name === args.cluster)
      .map(summarizeBackup)
      .sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''))
    const structured = {backups, count: backups.length, scope, continue: list.metadata.continue || undefined}
    return {
      structured,
      listField: 'backups',
      moreHint: 'Call again with a smaller "limit" and page with "continue".',
      render: (s: typeof structured & {truncated?: {omitted_items?: number; how_to_get_the_rest: string}}) => {
        const lines = s.backups.length === 0 ? [`No backups found in ${s.scope}${s.continue ? ' in this page' : ''}. Take one with create_backup.`] : [`Found ${s.backups.length} backup(s) in ${s.scope}:`, ...s.backups.map(renderBackup)]
        if (s.truncated?.omitted_items) lines.push(`[${s.truncated.omitted_items} more backup(s) left out to stay within the response budget. ${s.truncated.how_to_get_the_rest}]`)
        if (s.continue) lines.push(`More backups exist: call again with "continue": "${s.continue}".`)
        return lines.join('\n')
      },
    }
  },
})
