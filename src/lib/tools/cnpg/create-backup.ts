import {z} from 'zod'
import {type ToolReply, defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import type {WaitState} from '../wait.ts'
import {kubeName, namespaceParam} from '../validation.ts'
import {MANAGED_BY_KMCP, MANAGED_BY_LABEL} from '../postgres/secrets.ts'
import {CNPG_API_VERSION, cnpgPath} from './api.ts'
import {type CnpgBackup, backupMethodParam, backupSpec, backupTargetParam, pluginNameParam, pluginParametersParam} from './backups.ts'
import {loadCluster} from './cluster-ops.ts'

export const createBackup = defineTool({
  name: 'create_backup',
  title: 'Back up a PostgreSQL cluster now',
  description: [
    'Take an on-demand backup of a CloudNativePG cluster by creating a Backup object; the operator runs it and reports its phase (see list_backups).',
    'Methods: "barmanObjectStore" (default; the cluster needs spec.backup.barmanObjectStore), "volumeSnapshot" (needs spec.backup.volumeSnapshot) or "plugin" (CNPG-I plugin, with plugin_name). kmcp refuses a method the cluster is not configured for, because the backup would only fail later.',
    'wait=true returns when the backup is completed or failed (or at the timeout, default 600 s).',
    'Example: {"cluster": "orders-db", "namespace": "payments", "wait": true}; with a plugin: {"cluster": "orders-db", "method": "plugin", "plugin_name": "barman-cloud.cloudnative-pg.io"}.',
    'Errors: 404 when the cluster does not exist; 409 when a backup with that name exists; 403 without create permission on backups (cnpg-cloudnative-pg-edit).',
  ].join('\n'),
  input: {
    cluster: kubeName('cluster', {maxLength: 50, description: 'The cluster to back up.'}),
    name: kubeName('name', {description: 'Name of the Backup object; default "<cluster>-<yyyymmddhhmm>" (UTC).'}).optional(),
    method: backupMethodParam,
    plugin_name: pluginNameParam,
    plugin_parameters: pluginParametersParam,
    target: backupTargetParam,
    online: z.boolean().optional().describe('volumeSnapshot only: false takes a cold backup (the instance is stopped while snapshotting). Omit for the cluster\'s setting (online by default).'),
    namespace: namespaceParam,
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false},
  waits: true,
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const target = await loadCluster(context, args.cluster, args.namespace)
    const name = args.name ?? `${args.cluster}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 12)}`
    const backup: CnpgBackup = {
      apiVersion: CNPG_API_VERSION,
      kind: 'Backup',
      metadata: {name, namespace: target.namespace, labels: {[MANAGED_BY_LABEL]: MANAGED_BY_KMCP, 'cnpg.io/cluster': args.cluster}},
      spec: backupSpec(target.cluster, args),
    }
    const ref = `${target.namespace}/${name}`
    context.explain(`Create Backup ${ref} of cluster ${target.ref} (method ${args.method}); the operator runs it.`)
    await kubeStep(`creating backup ${ref} of cluster ${target.ref}`, () => target.kube.request<CnpgBackup>({method: 'POST', path: cnpgPath('backups', target.namespace), body: backup, signal: context.signal}))
    return {
      structured: {status: 'created', backup: ref, cluster: target.ref, method: args.method},
      target: ref,
      waitFor: {what: `Backup ${ref}`, collectionPath: cnpgPath('backups', target.namespace), name, evaluate: backupFinished as (object: never) => WaitState, defaultTimeout: 600},
      render: () => `Successfully requested backup ${ref} of cluster ${target.ref} (method ${args.method}). The operator runs it now; follow its phase with list_backups({"namespace": "${target.namespace}", "cluster": "${args.cluster}"}), or pass wait=true.`,
    }
  },
})

/** A backup is over when the operator reports it completed or failed. */
function backupFinished(backup: CnpgBackup): WaitState {
  const phase = backup.status?.phase
  return {done: phase === 'completed' || phase === 'failed', message: `phase: ${phase || 'not reported yet'}${backup.status?.error ? ` (${backup.status.error})` : ''}`}
}
