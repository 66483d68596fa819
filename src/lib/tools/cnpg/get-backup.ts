import {defineTool} from '../registry.ts'
import {KubeApiError, describeKubeError} from '../../k8s/errors.ts'
import type {KubeClient} from '../../k8s/client.ts'
import {ToolError} from '../errors.ts'
import {truncationSchema} from '../budget.ts'
import {formatParam, kubeName, namespaceParam} from '../validation.ts'
import {cnpgPath} from './api.ts'
import {type CnpgBackup, backupDetailsSchema, describeBackup, renderBackupDetails} from './backups.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from '../common-parameters.ts'

export const getBackup = defineTool({
  name: 'get_backup',
  title: 'Get one PostgreSQL backup',
  description: [
    'One Backup in full: phase, method, times, error, backup id, destination, WAL and LSN range, source pod. Use it to follow or debug a backup, or to check it covers a restore target time.',
    'Example: {"name": "orders-db-202611240200"}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {
      name: kubeName('name', {description: SHARED_PARAMETER_DESCRIPTIONS.backup}),
      namespace: namespaceParam(),
      format: formatParam(),
    }
  },
  get output() {
    return backupDetailsSchema().extend({truncated: truncationSchema()}).shape
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const backup = await readBackup(kube, namespace, args.name, context.signal)
    return {structured: describeBackup(backup), render: renderBackupDetails}
  },
})

async function readBackup(kube: KubeClient, namespace: string, name: string, signal: AbortSignal): Promise<CnpgBackup> {
  try {
    return await kube.request<CnpgBackup>({method: 'GET', path: cnpgPath('backups', namespace, name), signal})
  } catch (error) {
    const message = describeKubeError(error, `getting backup ${namespace}/${name}`)
    // The generic advice for a missing object points at clusters; backups are listed by list_backups.
    const missing = error instanceof KubeApiError && error.status === 404
    throw new ToolError(missing ? `${message}\nBackups: list_backups({"namespace": "${namespace}"}) shows the backups of that namespace and their exact names.` : message)
  }
}
