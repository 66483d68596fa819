import {z} from 'zod'
import {type ToolReply, defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {kubeName, namespaceParam} from '../validation.ts'
import {MANAGED_BY_KMCP, MANAGED_BY_LABEL} from '../postgres/secrets.ts'
import {CNPG_API_VERSION, cnpgPath} from './api.ts'
import {type CnpgScheduledBackup, backupMethodParam, backupSpec, backupTargetParam, pluginNameParam, pluginParametersParam} from './backups.ts'
import {loadCluster} from './cluster-ops.ts'
import {cronProblem} from './cron.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from '../common-parameters.ts'

export const createScheduledBackup = defineTool({
  name: 'create_scheduled_backup',
  title: 'Schedule regular PostgreSQL backups',
  description: [
    'Back a cluster up on a schedule (a ScheduledBackup). The cron has 6 fields, seconds first: "0 0 2 * * *" is 02:00 daily; "@daily" and "@every 6h" work too.',
    'Example: {"name": "orders-db-nightly", "cluster": "orders-db", "schedule": "0 0 2 * * *"}.',
    'Errors: 404; 409 when the name is taken; 403; a 5-field cron is refused with the fix.',
  ].join('\n'),
  get input() {
    return {
      name: kubeName('name', {description: 'Name of the ScheduledBackup, e.g. "orders-db-nightly".'}),
      cluster: kubeName('cluster', {maxLength: 50, description: SHARED_PARAMETER_DESCRIPTIONS.cluster}),
      schedule: z
        .string()
        .superRefine((value, ctx) => {
          const problem = cronProblem(value)
          if (problem) ctx.addIssue({code: 'custom', message: `schedule "${value}" ${problem}`})
        })
        .describe('6-field cron, seconds first.'),
      method: backupMethodParam(),
      plugin_name: pluginNameParam(),
      plugin_parameters: pluginParametersParam(),
      target: backupTargetParam(),
      immediate: z.boolean().default(false).describe('Also back up now.'),
      suspend: z.boolean().default(false).describe('Create it suspended.'),
      backup_owner_reference: z
        .enum(['none', 'self', 'cluster'])
        .default('none')
        .describe('What its Backups are deleted with.'),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const target = await loadCluster(context, args.cluster, args.namespace)
    const scheduled: CnpgScheduledBackup = {
      apiVersion: CNPG_API_VERSION,
      kind: 'ScheduledBackup',
      metadata: {name: args.name, namespace: target.namespace, labels: {[MANAGED_BY_LABEL]: MANAGED_BY_KMCP, 'cnpg.io/cluster': args.cluster}},
      spec: {...backupSpec(target.cluster, args), schedule: args.schedule.trim(), immediate: args.immediate, suspend: args.suspend, backupOwnerReference: args.backup_owner_reference},
    }
    const ref = `${target.namespace}/${args.name}`
    context.explain(`Create ScheduledBackup ${ref} for cluster ${target.ref}: "${scheduled.spec.schedule}" (method ${args.method}).`)
    await kubeStep(`creating scheduled backup ${ref} for cluster ${target.ref}`, () => target.kube.request<CnpgScheduledBackup>({method: 'POST', path: cnpgPath('scheduledbackups', target.namespace), body: scheduled, signal: context.signal}))
    return {
      structured: {status: 'created', scheduled_backup: ref, cluster: target.ref, schedule: scheduled.spec.schedule, method: args.method},
      target: ref,
      render: () => `Successfully created scheduled backup ${ref} for cluster ${target.ref}: "${scheduled.spec.schedule}" (method ${args.method}${args.suspend ? ', suspended' : ''}${args.immediate ? ', first backup now' : ''}). Check it with list_scheduled_backups({"namespace": "${target.namespace}"}).`,
    }
  },
})
