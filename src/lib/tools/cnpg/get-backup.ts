import {defineTool} from '../registry.ts'
import {KubeApiError, describeKubeError} from '../../k8s/errors.ts'
import type {KubeClient} from '../../k8s/client.ts'
import {ToolError} from '../errors.ts'
import {truncationSchema} from '../budget.ts'
import {formatParam, kubeName, namespaceParam} from '../validation.ts'
import {cnpgPath} from './api.ts'
import {type CnpgBackup, backupDetailsSchema, describeBackup, renderBackupDetails} from './backups.ts'

export const getBackup = defineTool({
  name: 'get_backup',
  title: 'Get one PostgreSQL backup',
  description: [
    'Show everything the operator reports about one CloudNativePG Backup: phase (new, started, running, completed, failed…), method, online/offline, target, plugin, start/stop times, error and command output, backup id, destination path and server name in the object store, first and last WAL file and LSN, and the pod it was taken from.',
    'Use it to follow a backup started with create_backup, to find out why one failed, or to check that a backup covers the point in time you want to restore to (restore_postgres_cluster with backup_name). list_backups gives the names.',
    'Example: {"name": "orders-db-202611240200", "namespace": "payments"}.',
    'Errors: 404 when no backup has that name in the namespace (list_backups shows what exists); 403 when kmcp may not read backups there (cnpg-cloudnative-pg-view).',
  ].join('\n'),
  input: {
    name: kubeName('name', {description: 'Name of the Backup object, e.g. "orders-db-202611240200" (list_backups shows them).'}),
    namespace: namespaceParam,
    format: formatParam,
  },
  output: backupDetailsSchema.extend({truncated: truncationSchema}).shape,
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
