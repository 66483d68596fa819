import {z} from 'zod'
import {type CnpgCluster, conditionSchema, postgresImage, renderConditions, summarizeConditions} from './api.ts'
import {once} from '../lazy.ts'

/**
 * One cluster as kmcp reports it, shared by list_postgres_clusters and get_cluster_status (and the
 * cluster resource), so the model sees the same fields with the same names everywhere.
 */
export const clusterSummarySchema = once(() => z.object({
  name: z.string(),
  namespace: z.string(),
  instances: z.number().describe('Desired instances (spec.instances)'),
  ready_instances: z.number().describe('Instances ready (status.readyInstances)'),
  phase: z.string().describe('status.phase as the operator reports it, "Unknown" when not yet reported'),
  current_primary: z.string().describe('Pod name of the current primary, "unknown" when not yet reported'),
  target_primary: z.string().optional(),
  postgres_version: z.string().optional().describe('PostgreSQL image in use (detailed)'),
  storage_size: z.string().optional().describe('PGDATA volume size (detailed)'),
  storage_class: z.string().optional(),
  phase_reason: z.string().optional(),
  instance_names: z.array(z.string()).optional(),
  instances_status: z.record(z.string(), z.array(z.string())).optional().describe('Instance names per health state'),
  conditions: z.array(conditionSchema()).optional(),
  postgresql_parameters: z.record(z.string(), z.string()).optional(),
  legacy_managed_roles: z.array(z.string()).optional().describe('Role names declared in spec.managed.roles'),
  hibernated: z.boolean().optional().describe('true while annotation cnpg.io/hibernation=on is set (requested)'),
  hibernation_progress: z.string().optional().describe('The operator\'s cnpg.io/hibernation condition while hibernation is not complete, e.g. "WaitingForHealthy: …"'),
  last_successful_backup: z.string().optional().describe('status.lastSuccessfulBackup (detailed)'),
  last_failed_backup: z.string().optional().describe('status.lastFailedBackup (detailed)'),
  first_recoverability_point: z.string().optional().describe('Earliest time a point-in-time restore can target (detailed)'),
  creation_timestamp: z.string().optional(),
}))

/** The condition CNPG keeps about hibernation (reason Hibernated when done). */
const HIBERNATION_CONDITION = 'cnpg.io/hibernation'

export type ClusterSummary = z.infer<ReturnType<typeof clusterSummarySchema>>

export function summarizeCluster(cluster: CnpgCluster, detailed: boolean): ClusterSummary {
  const summary: ClusterSummary = {
    name: cluster.metadata.name,
    namespace: cluster.metadata.namespace ?? '',
    instances: cluster.spec.instances ?? 1,
    ready_instances: cluster.status?.readyInstances ?? 0,
    phase: cluster.status?.phase || 'Unknown',
    current_primary: cluster.status?.currentPrimary || 'unknown',
  }
  const target = cluster.status?.targetPrimary
  if (target && target !== summary.current_primary) summary.target_primary = target
  const hibernation = cluster.metadata.annotations?.['cnpg.io/hibernation']
  if (hibernation === 'on') {
    summary.hibernated = true
    // The operator first waits for a healthy cluster, then deletes the pods; it says so in this condition.
    const progress = cluster.status?.conditions?.find((c) => c.type === HIBERNATION_CONDITION)
    if (progress && progress.status !== 'True') summary.hibernation_progress = `${progress.reason ?? 'InProgress'}: ${progress.message ?? ''}`.trim()
  }
  if (!detailed) return summary
  summary.postgres_version = postgresImage(cluster)
  summary.storage_size = cluster.spec.storage?.size ?? 'unspecified'
  summary.storage_class = cluster.spec.storage?.storageClass
  summary.phase_reason = cluster.status?.phaseReason || undefined
  summary.instance_names = cluster.status?.instanceNames
  summary.instances_status = cluster.status?.instancesStatus
  summary.conditions = summarizeConditions(cluster.status?.conditions)
  summary.postgresql_parameters = cluster.spec.postgresql?.parameters
  const roles = cluster.spec.managed?.roles?.map((r) => String(r.name ?? '')).filter(Boolean)
  if (roles?.length) summary.legacy_managed_roles = roles
  summary.creation_timestamp = cluster.metadata.creationTimestamp
  const backupStatus = cluster.status as {lastSuccessfulBackup?: string; lastFailedBackup?: string; firstRecoverabilityPoint?: string} | undefined
  summary.last_successful_backup = backupStatus?.lastSuccessfulBackup || undefined
  summary.last_failed_backup = backupStatus?.lastFailedBackup || undefined
  summary.first_recoverability_point = backupStatus?.firstRecoverabilityPoint || undefined
  return summary
}

/** The text block the reference's clients match on (`X/Y ready`, `Current Primary`). */
export function renderClusterSummary(summary: ClusterSummary): string {
  const lines = [
    `**Cluster: ${summary.namespace}/${summary.name}**`,
    `- Status: ${summary.phase}${summary.phase_reason ? ` (${summary.phase_reason})` : ''}`,
    `- Instances: ${summary.ready_instances}/${summary.instances} ready`,
    `- Current Primary: ${summary.current_primary}`,
  ]
  if (summary.target_primary) lines.push(`- Target Primary: ${summary.target_primary} (switchover or failover in progress)`)
  if (summary.hibernated) {
    lines.push(summary.hibernation_progress ? `- Hibernation: requested, not complete yet (${summary.hibernation_progress})` : '- Hibernated: yes (annotation cnpg.io/hibernation=on)')
  }
  if (summary.postgres_version !== undefined) lines.push(`- PostgreSQL Version: ${summary.postgres_version}`)
  if (summary.storage_size !== undefined) lines.push(`- Storage Size: ${summary.storage_size}${summary.storage_class ? ` (class ${summary.storage_class})` : ''}`)
  if (summary.instances_status) {
    for (const [state, names] of Object.entries(summary.instances_status)) lines.push(`- Instances ${state}: ${names.join(', ')}`)
  }
  if (summary.postgresql_parameters && Object.keys(summary.postgresql_parameters).length > 0) {
    lines.push(`- PostgreSQL parameters: ${Object.entries(summary.postgresql_parameters).map(([k, v]) => `${k}=${v}`).join(', ')}`)
  }
  if (summary.legacy_managed_roles) lines.push(`- Roles in spec.managed.roles: ${summary.legacy_managed_roles.join(', ')}`)
  if (summary.last_successful_backup || summary.last_failed_backup) {
    lines.push(`- Backups: last successful ${summary.last_successful_backup ?? 'never'}${summary.last_failed_backup ? `, last failed ${summary.last_failed_backup}` : ''}${summary.first_recoverability_point ? `; restorable from ${summary.first_recoverability_point}` : ''}`)
  }
  if (summary.conditions) lines.push(...renderConditions(summary.conditions))
  return lines.join('\n')
}
