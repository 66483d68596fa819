import {type ToolReply, defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {kubeName, namespaceParam} from '../validation.ts'
import {cnpgPath} from './api.ts'
import type {CnpgScheduledBackup} from './backups.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from '../common-parameters.ts'

export const deleteScheduledBackup = defineTool({
  name: 'delete_scheduled_backup',
  title: 'Delete a backup schedule',
  description: [
    'Delete a ScheduledBackup: no more backups on that schedule. Backups taken are kept unless the schedule owns them (then it asks confirm_deletion).',
    'Example: {"name": "orders-db-nightly"}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {
      name: kubeName('name', {description: SHARED_PARAMETER_DESCRIPTIONS.scheduledBackup}),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_deletion', when: 'to delete a schedule that owns its backups (they are deleted with it)', message: (args) => `Delete scheduled backup ${String(args.name)}.`},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const ref = `${namespace}/${args.name}`
    const path = cnpgPath('scheduledbackups', namespace, args.name)
    const scheduled = await kubeStep(`getting scheduled backup ${ref}`, () => kube.request<CnpgScheduledBackup>({method: 'GET', path, signal: context.signal}))
    const ownsBackups = scheduled.spec.backupOwnerReference === 'self'
    const preview = [
      `Deleting scheduled backup ${ref} (cluster ${scheduled.spec.cluster?.name}, "${scheduled.spec.schedule}") stops its backups.`,
      ownsBackups ? 'It owns the Backup objects it created (backupOwnerReference "self"): Kubernetes deletes them too.' : 'Backups it already took are kept.',
    ].join('\n')
    const request = {method: 'DELETE' as const, path, body: {apiVersion: 'v1', kind: 'DeleteOptions', preconditions: {uid: scheduled.metadata.uid}}, signal: context.signal}
    const action = `deleting scheduled backup ${ref}`
    // Only a schedule that owns its backups loses data when deleted; the others need no confirmation.
    context.explain(preview, {destructive: ownsBackups})
    await kubeStep(action, () => kube.request(request))
    return {structured: {status: 'deleted', scheduled_backup: ref, owns_backups: ownsBackups}, target: ref, render: () => `Successfully deleted scheduled backup ${ref}. ${ownsBackups ? 'Its Backup objects are being deleted with it.' : 'Backups it already took are kept (list_backups).'}`}
  },
})
