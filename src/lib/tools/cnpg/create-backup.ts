import {z} from 'zod'
import {type ToolReply, defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import type {WaitState} from '../wait.ts'
import {kubeName, namespaceParam} from '../validation.ts'
import {MANAGED_BY_KMCP, MANAGED_BY_LABEL} from '../postgres/secrets.ts'
import {CNPG_API_VERSION, cnpgPath} from './api.ts'
import {type CnpgBackup, backupMethodParam, backupSpec, backupTargetParam, pluginNameParam, pluginParametersParam} from './backups.ts'
import {loadCluster} from './cluster-ops.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from '../common-parameters.ts'

export const createBackup = defineTool({
  name: 'create_backup',
  title: 'Back up a PostgreSQL cluster now',
  description: [
    'Take a backup now (a Backup object) with a method the cluster is configured for ("plugin" needs plugin_name).',
    'Example: {"cluster": "orders-db", "wait": true}.',
    'Errors: 404; 409 when the name is taken; 403.',
  ].join('\n'),
  get input() {
    return {
      cluster: kubeName('cluster', {maxLength: 50, description: SHARED_PARAMETER_DESCRIPTIONS.cluster}),
      name: kubeName('name', {description: 'Name of the Backup object; default "<cluster>-<yyyymmddhhmm>" (UTC).'}).optional(),
      method: backupMethodParam(),
      plugin_name: pluginNameParam(),
      plugin_parameters: pluginParametersParam(),
      target: backupTargetParam(),
      online: z.boolean().optional().describe('volumeSnapshot: false for a cold backup.'),
      namespace: namespaceParam(),
    }
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
