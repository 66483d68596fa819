import {z} from 'zod'
import {ToolError} from '../errors.ts'
import type {CnpgCluster, ObjectMeta} from './api.ts'
import {once} from '../lazy.ts'

/** Backup and ScheduledBackup objects, and the parameters the backup tools share. */

export interface BackupSpecFields {
  cluster: {name: string}
  method?: string
  target?: string
  online?: boolean
  pluginConfiguration?: {name: string; parameters?: Record<string, string>}
}

export interface CnpgBackup {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  spec: BackupSpecFields
  status?: {
    phase?: string
    startedAt?: string
    stoppedAt?: string
    error?: string
    commandError?: string
    backupId?: string
    backupName?: string
    destinationPath?: string
    serverName?: string
    method?: string
    online?: boolean
    beginWal?: string
    endWal?: string
    beginLSN?: string
    endLSN?: string
    majorVersion?: number
    instanceID?: {podName?: string}
    [key: string]: unknown
  }
}

export interface CnpgScheduledBackup {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  spec: BackupSpecFields & {schedule: string; suspend?: boolean; immediate?: boolean; backupOwnerReference?: string}
  status?: {lastCheckTime?: string; lastScheduleTime?: string; nextScheduleTime?: string; error?: string}
}

export const backupMethodParam = once(() => z
  .enum(['barmanObjectStore', 'volumeSnapshot', 'plugin'])
  .default('barmanObjectStore')
  .describe('Must be configured in the cluster\'s spec.backup.'))

export const pluginNameParam = once(() => z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'plugin_name must be a plugin name such as "barman-cloud.cloudnative-pg.io" (lower-case letters, digits, "-" and ".")')
  .max(253)
  .optional()
  .describe('For method "plugin", e.g. "barman-cloud.cloudnative-pg.io".'))

export const pluginParametersParam = once(() => z
  .record(z.string().min(1).max(253), z.string().max(4096))
  .refine((map) => Object.keys(map).length <= 30, 'at most 30 plugin parameters')
  .optional()
  .describe('For method "plugin".'))

export const backupTargetParam = once(() => z
  .enum(['primary', 'prefer-standby'])
  .optional()
  .describe('Default: the cluster\'s setting.'))

/**
 * The spec fields common to Backup and ScheduledBackup. Refuses a method the cluster is not
 * configured for, because the operator would only fail the backup later.
 */
export function backupSpec(cluster: CnpgCluster, args: {method: 'barmanObjectStore' | 'volumeSnapshot' | 'plugin'; plugin_name?: string; plugin_parameters?: Record<string, string>; target?: string; online?: boolean}): BackupSpecFields {
  const name = cluster.metadata.name
  const backup = cluster.spec.backup as {barmanObjectStore?: unknown; volumeSnapshot?: unknown} | undefined
  if (args.method === 'plugin' && !args.plugin_name) throw new ToolError('method="plugin" needs plugin_name, e.g. "barman-cloud.cloudnative-pg.io".')
  if (args.online !== undefined && args.method !== 'volumeSnapshot') throw new ToolError(`online only applies to method="volumeSnapshot" (CNPG refuses it for "${args.method}"); drop it, or use method="volumeSnapshot".`)
  if (args.method !== 'plugin' && (args.plugin_name || args.plugin_parameters)) throw new ToolError(`plugin_name and plugin_parameters only apply to method="plugin" (got method="${args.method}").`)
  if (args.method === 'barmanObjectStore' && !backup?.barmanObjectStore) {
    throw new ToolError(`Cluster ${name} has no object store configured (spec.backup.barmanObjectStore), so a barmanObjectStore backup would fail. Configure one on the cluster, or use method="volumeSnapshot" or method="plugin" if the cluster is set up for them.`)
  }
  if (args.method === 'volumeSnapshot' && !backup?.volumeSnapshot) {
    throw new ToolError(`Cluster ${name} has no volume snapshot configuration (spec.backup.volumeSnapshot), so a volumeSnapshot backup would fail. Configure it on the cluster (VolumeSnapshotClass), or use another method.`)
  }
  const spec: BackupSpecFields = {cluster: {name}, method: args.method}
  if (args.method === 'plugin') spec.pluginConfiguration = {name: args.plugin_name as string, ...(args.plugin_parameters ? {parameters: args.plugin_parameters} : {})}
  if (args.target) spec.target = args.target
  if (args.online !== undefined) spec.online = args.online
  return spec
}

export const backupSummarySchema = once(() => z.object({
  name: z.string(),
  namespace: z.string(),
  cluster: z.string(),
  method: z.string(),
  phase: z.string().describe('status.phase ("new" when the operator has not picked it up): started, running, completed, failed…'),
  started_at: z.string().optional(),
  stopped_at: z.string().optional(),
  error: z.string().optional(),
  backup_id: z.string().optional(),
  destination_path: z.string().optional(),
  created: z.string().optional(),
}))

export type BackupSummary = z.infer<ReturnType<typeof backupSummarySchema>>

export function summarizeBackup(backup: CnpgBackup): BackupSummary {
  return {
    name: backup.metadata.name,
    namespace: backup.metadata.namespace ?? '',
    cluster: backup.spec.cluster?.name ?? '',
    method: backup.status?.method ?? backup.spec.method ?? 'barmanObjectStore',
    phase: backup.status?.phase || 'new',
    started_at: backup.status?.startedAt,
    stopped_at: backup.status?.stoppedAt,
    error: backup.status?.error || undefined,
    backup_id: backup.status?.backupId,
    destination_path: backup.status?.destinationPath,
    created: backup.metadata.creationTimestamp,
  }
}

export function renderBackup(b: BackupSummary): string {
  const times = [b.started_at ? `started ${b.started_at}` : undefined, b.stopped_at ? `stopped ${b.stopped_at}` : undefined].filter(Boolean).join(', ')
  return `- ${b.name} (cluster ${b.cluster}, ${b.method}): ${b.phase}${times ? `, ${times}` : ''}${b.error ? `\n  error: ${b.error}` : ''}`
}

/** The backup tool's output beyond the list summary: where the backup is and which WAL it spans. */
export const backupDetailsSchema = once(() => backupSummarySchema().extend({
  online: z.boolean().optional().describe('true: hot backup taken while PostgreSQL ran; false: cold (status.online, else spec.online)'),
  target: z.string().optional().describe('Which instance was asked to take it: "primary" or "prefer-standby" (spec.target; the cluster\'s setting when absent)'),
  plugin: z.string().optional().describe('CNPG-I plugin taking the backup (method "plugin")'),
  server_name: z.string().optional().describe('Server name in the object store (defaults to the cluster name)'),
  barman_backup_name: z.string().optional().describe('status.backupName: the backup\'s name inside the object store'),
  begin_wal: z.string().optional(),
  end_wal: z.string().optional(),
  begin_lsn: z.string().optional(),
  end_lsn: z.string().optional(),
  taken_from: z.string().optional().describe('Pod the backup was taken from'),
  postgres_major_version: z.number().optional(),
  command_error: z.string().optional().describe('Output of the failed backup command (at most 2,000 characters)'),
}))

export type BackupDetails = z.infer<ReturnType<typeof backupDetailsSchema>>

/** A failed command can print pages; the start names the problem. */
const COMMAND_ERROR_LIMIT = 2000

export function describeBackup(backup: CnpgBackup): BackupDetails {
  const status = backup.status ?? {}
  const commandError = status.commandError || undefined
  return {
    ...summarizeBackup(backup),
    online: status.online ?? backup.spec.online,
    target: backup.spec.target,
    plugin: backup.spec.pluginConfiguration?.name,
    server_name: status.serverName || undefined,
    barman_backup_name: status.backupName || undefined,
    begin_wal: status.beginWal || undefined,
    end_wal: status.endWal || undefined,
    begin_lsn: status.beginLSN || undefined,
    end_lsn: status.endLSN || undefined,
    taken_from: status.instanceID?.podName || undefined,
    postgres_major_version: status.majorVersion,
    command_error: commandError && commandError.length > COMMAND_ERROR_LIMIT ? `${commandError.slice(0, COMMAND_ERROR_LIMIT)}…` : commandError,
  }
}

/** The list line of the backup, then one line per detail that is known. */
export function renderBackupDetails(b: BackupDetails): string {
  const span = (begin?: string, end?: string) => (begin || end ? `${begin ?? '?'} .. ${end ?? '?'}` : undefined)
  const details: Array<[string, string | number | undefined]> = [
    ['mode', b.online === undefined ? undefined : b.online ? 'online (hot)' : 'offline (cold)'],
    ['target', b.target],
    ['plugin', b.plugin],
    ['backup id', b.backup_id],
    ['object store name', b.barman_backup_name],
    ['destination', b.destination_path],
    ['server name', b.server_name],
    ['WAL', span(b.begin_wal, b.end_wal)],
    ['LSN', span(b.begin_lsn, b.end_lsn)],
    ['taken from', b.taken_from],
    ['PostgreSQL major version', b.postgres_major_version],
    ['created', b.created],
  ]
  const lines = [renderBackup(b), ...details.filter(([, value]) => value !== undefined).map(([label, value]) => `  ${label}: ${value}`)]
  if (b.command_error) lines.push(`  command output:\n${b.command_error.replace(/^/gm, '    ')}`)
  if (b.phase === 'completed') lines.push(`Restorable: restore_postgres_cluster({"name": "<new cluster>", "namespace": "${b.namespace}", "backup_name": "${b.name}"}).`)
  return lines.join('\n')
}

export const scheduledBackupSummarySchema = once(() => z.object({
  name: z.string(),
  namespace: z.string(),
  cluster: z.string(),
  schedule: z.string(),
  method: z.string(),
  suspended: z.boolean(),
  immediate: z.boolean(),
  backup_owner_reference: z.string(),
  last_schedule_time: z.string().optional(),
  next_schedule_time: z.string().optional(),
  error: z.string().optional(),
}))

export type ScheduledBackupSummary = z.infer<ReturnType<typeof scheduledBackupSummarySchema>>

export function summarizeScheduledBackup(s: CnpgScheduledBackup): ScheduledBackupSummary {
  return {
    name: s.metadata.name,
    namespace: s.metadata.namespace ?? '',
    cluster: s.spec.cluster?.name ?? '',
    schedule: s.spec.schedule,
    method: s.spec.method ?? 'barmanObjectStore',
    suspended: s.spec.suspend === true,
    immediate: s.spec.immediate === true,
    backup_owner_reference: s.spec.backupOwnerReference ?? 'none',
    last_schedule_time: s.status?.lastScheduleTime,
    next_schedule_time: s.status?.nextScheduleTime,
    error: s.status?.error || undefined,
  }
}

export function renderScheduledBackup(s: ScheduledBackupSummary): string {
  return `- ${s.name} (cluster ${s.cluster}, ${s.method}): "${s.schedule}"${s.suspended ? ' SUSPENDED' : ''}; last ${s.last_schedule_time ?? 'never'}, next ${s.next_schedule_time ?? 'not scheduled yet'}${s.error ? `\n  error: ${s.error}` : ''}`
}
