import {z} from 'zod'
import {defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {truncationSchema} from '../budget.ts'
import {continueParam, formatParam, kubeName, limitParam, namespaceParam} from '../validation.ts'
import {type ObjectList, cnpgPath} from './api.ts'
import {type CnpgScheduledBackup, renderScheduledBackup, scheduledBackupSummarySchema, summarizeScheduledBackup} from './backups.ts'

export const listScheduledBackups = defineTool({
  name: 'list_scheduled_backups',
  title: 'List scheduled PostgreSQL backups',
  description: [
    'List the CloudNativePG ScheduledBackup objects in a namespace: cluster, schedule (6-field cron with seconds), method, suspended or not, last and next run.',
    'Use it to check that a cluster has regular backups, or before create_scheduled_backup / delete_scheduled_backup.',
    'Example: {"namespace": "payments", "cluster": "orders-db"}.',
    'Errors: 403 when kmcp may not list scheduledbackups in the namespace (cnpg-cloudnative-pg-view).',
  ].join('\n'),
  input: {
    namespace: namespaceParam,
    cluster: kubeName('cluster', {maxLength: 50, description: 'Only schedules of this cluster (applied to each page).'}).optional(),
    format: formatParam,
    limit: limitParam,
    continue: continueParam,
  },
  output: {
    scheduled_backups: z.array(scheduledBackupSummarySchema),
    count: z.number(),
    scope: z.string(),
    continue: z.string().optional(),
    truncated: truncationSchema,
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const scope = `namespace ${namespace}${args.cluster ? `, cluster ${args.cluster}` : ''}`
    const list = await kubeStep(`listing scheduled backups in namespace ${namespace}`, () =>
      kube.request<ObjectList<CnpgScheduledBackup>>({method: 'GET', path: cnpgPath('scheduledbackups', namespace), query: {limit: args.limit, continue: args.continue}, signal: context.signal}),
    )
    const items = list.items.filter((s) => !args.cluster || s.spec.cluster?.name === args.cluster).map(summarizeScheduledBackup)
    const structured = {scheduled_backups: items, count: items.length, scope, continue: list.metadata.continue || undefined}
    return {
      structured,
      listField: 'scheduled_backups',
      moreHint: 'Call again with a smaller "limit" and page with "continue".',
      render: (s: typeof structured & {truncated?: {omitted_items?: number; how_to_get_the_rest: string}}) => {
        const lines = s.scheduled_backups.length === 0 ? [`No scheduled backups found in ${s.scope}${s.continue ? ' in this page' : ''}. Create one with create_scheduled_backup.`] : [`Found ${s.scheduled_backups.length} scheduled backup(s) in ${s.scope}:`, ...s.scheduled_backups.map(renderScheduledBackup)]
        if (s.truncated?.omitted_items) lines.push(`[${s.truncated.omitted_items} more left out to stay within the response budget. ${s.truncated.how_to_get_the_rest}]`)
        if (s.continue) lines.push(`More exist: call again with "continue": "${s.continue}".`)
        return lines.join('\n')
      },
    }
  },
})
