/**
 * Prompts kmcp always offers, whatever the bundle says: step-by-step plans for CNPG work that
 * goes wrong when done in the wrong order. They name kmcp's tools so an agent can follow them.
 */
export interface BuiltinPrompt {
  id: string
  title: string
  description: string
  arguments: Array<{name: string; description: string; required: boolean}>
  render(args: Record<string, string | undefined>): string
}

const where = (args: Record<string, string | undefined>) => `cluster "${args.cluster_name}"${args.namespace ? ` in namespace "${args.namespace}"` : ' (default namespace)'}`
const target = (args: Record<string, string | undefined>) => JSON.stringify({name: args.cluster_name, ...(args.namespace ? {namespace: args.namespace} : {})})
const clusterArgs = [
  {name: 'cluster_name', description: 'Name of the CNPG cluster', required: true},
  {name: 'namespace', description: 'Namespace of the cluster (default namespace when omitted)', required: false},
]

export const BUILTIN_PROMPTS: BuiltinPrompt[] = [
  {
    id: 'diagnose-unhealthy-cluster',
    title: 'Diagnose an unhealthy PostgreSQL cluster',
    description: 'Read-only investigation of a CNPG cluster that is not healthy (status, live replication, instance logs, events), ending with a diagnosis and a proposed fix (no changes made).',
    arguments: clusterArgs,
    render: (args) =>
      [
        `Diagnose why the CloudNativePG ${where(args)} is not healthy. Make no changes: only read, then report.`,
        '',
        `1. Call get_cluster_status with ${target(args)} and detail_level "detailed". Note the phase and its reason, "X/Y ready", the current and target primary, every condition that is not True, and the live instance status: each instance's role, timeline, LSN, replication state and lag, WAL archiving, fencing, missing instances and replicas not streaming. If the live status is "not available" (no pods/proxy permission), continue with the other evidence and say so.`,
        '2. If the target primary differs from the current primary, a switchover or failover is in progress: say so and check again in a minute before concluding anything.',
        `3. Call list_cluster_events with ${target(args)} and type "Warning": scheduling failures, image pulls, failing probes, back-off restarts and volume problems of the instance pods, PVCs and jobs show up here, also for pods already deleted.`,
        `4. Call get_cluster_logs with ${target(args)} and min_level "warning" (add instance for one pod; previous true for a pod that restarted). PostgreSQL records give severity, SQLSTATE, message, detail and hint: a FATAL or a LOG with SQLSTATE 22023/F0000 at start-up usually names a bad postgresql parameter; logger "wal-archive" errors name the archiving problem.`,
        '5. If instances are missing or not ready, compare spec instances with ready instances; a phase mentioning storage or PVCs points at volumes (get_cluster_resize_status shows resize progress).',
        '6. Check recent backups with list_backups: a failing WAL archive stops a cluster from being healthy and fills its disk.',
        '7. Check list_postgres_roles and list_postgres_databases for objects the operator has not applied (applied false, with a message).',
        '',
        'Report: the most likely cause, the evidence for it (quote the log record or event), what is not the cause, and the smallest change that would fix it, with the exact kmcp call (using dry_run=true first). Ask before changing anything.',
      ].join('\n'),
  },
  {
    id: 'diagnose-failed-backup',
    title: 'Diagnose a failed backup',
    description: 'Read-only investigation of a CNPG backup that failed or WAL archiving that does not work: Backup status, wal-archive logs, events, live archiving state.',
    arguments: [...clusterArgs, {name: 'backup_name', description: 'The failed Backup, if known; omit to take the most recent one', required: false}],
    render: (args) =>
      [
        `Find out why backups of the CloudNativePG ${where(args)} fail${args.backup_name ? ` (Backup "${args.backup_name}")` : ''}. Make no changes: only read, then report.`,
        '',
        `1. ${args.backup_name ? `get_backup with {"name":"${args.backup_name}"${args.namespace ? `,"namespace":"${args.namespace}"` : ''}}` : `list_backups with {"cluster":"${args.cluster_name}"${args.namespace ? `,"namespace":"${args.namespace}"` : ''}}, then get_backup on the newest failed one`}: note its phase, method (barmanObjectStore, volumeSnapshot or plugin), the error and the instance that ran it.`,
        `2. get_cluster_status with ${target(args)} and detail_level "detailed": "Backups: last successful … last failed …", the ContinuousArchiving condition, and in the live status the primary's WAL archiving (last archived and last failed WAL, WAL files waiting).`,
        `3. get_cluster_logs with ${target(args)}, logger "wal-archive" and min_level "warning", then with contains "backup" (instance = the pod that ran the backup): the error of barman-cloud or the plugin (credentials, bucket, endpoint, TLS) is logged there.`,
        `4. list_cluster_events with ${target(args)} and type "Warning" for failing backup or snapshot jobs and volume snapshot problems.`,
        '5. list_scheduled_backups for the cluster: a schedule that is suspended or points at the wrong method explains missing backups.',
        '',
        'Report: the cause with its evidence (quote the log line or status error), whether WAL archiving is also affected (the risk to point-in-time recovery and to disk space), and the fix, usually in the object store credentials Secret or the cluster\'s backup configuration. After the fix, create_backup with dry_run=true first, then a real one, and follow it with get_backup.',
      ].join('\n'),
  },
  {
    id: 'plan-storage-shrink',
    title: 'Plan shrinking a cluster\'s storage',
    description: 'A safe plan to move a CNPG cluster to smaller volumes (Kubernetes cannot shrink a PVC in place).',
    arguments: [...clusterArgs, {name: 'target_size', description: 'The new, smaller volume size, e.g. "20Gi"', required: true}],
    render: (args) =>
      [
        `Plan how to shrink the storage of the CloudNativePG ${where(args)} to ${args.target_size}. Produce a plan for the user to approve; do not run destructive steps without their explicit confirmation.`,
        '',
        `1. get_cluster_status ${target(args)} with detail_level "detailed": record instances, current storage size and the primary. The cluster must be healthy before starting.`,
        `2. Check that the data fits: ${args.target_size} must hold the database size plus WAL and at least 30% headroom. If you cannot see the database size, ask the user for it.`,
        '3. Make sure a recent successful backup exists (list_backups; create_backup if not) so the data can be recovered if a step fails.',
        `4. A PVC cannot shrink. CNPG replaces instances one at a time: resize_postgres_cluster to ${args.target_size} with dry_run=true first shows the steps (new replicas are created on smaller volumes, old ones removed); confirm_shrink=true is needed to run it.`,
        '5. After each step, get_cluster_resize_status and get_cluster_status must show every instance ready before the next one is replaced. Replace the primary last, after a switchover.',
        '',
        'Present the plan with the expected duration, the risks (less headroom, replication catch-up time) and how to roll back (restore_postgres_cluster from the backup).',
      ].join('\n'),
  },
  {
    id: 'plan-restore',
    title: 'Plan restoring a cluster from backup',
    description: 'A plan to restore a CNPG cluster into a new cluster from a backup, optionally to a point in time.',
    arguments: [...clusterArgs, {name: 'target_time', description: 'Point in time to recover to (RFC 3339), e.g. "2026-11-24T15:30:00Z"; omit for the latest state', required: false}],
    render: (args) =>
      [
        `Plan a restore of the CloudNativePG ${where(args)}${args.target_time ? ` to the point in time ${args.target_time}` : ' to its latest recoverable state'}. Restores create a NEW cluster; the original is left untouched.`,
        '',
        `1. list_backups for the cluster: pick the most recent completed backup${args.target_time ? ' that finished before the target time' : ''}. No completed backup means no restore: stop and say so.`,
        `2. get_cluster_status ${target(args)} to copy the instance count, storage size and PostgreSQL image for the new cluster.`,
        `3. restore_postgres_cluster with a new cluster name${args.target_time ? ` and target time ${args.target_time}` : ''}, dry_run=true first; show the user the result.`,
        '4. After the user approves and the restore runs, wait until get_cluster_status shows all instances ready, then compare list_postgres_roles and list_postgres_databases with the original.',
        '5. Applications switch over by pointing at the new cluster\'s services (get_connection_info on the new cluster).',
        '',
        'Report what will be restored, the expected data loss window, and the steps to switch applications over.',
      ].join('\n'),
  },
  {
    id: 'onboard-application',
    title: 'Give an application its own role and database',
    description: 'Create a login role and a database owned by it in a CNPG cluster, then hand over connection details without exposing the password.',
    arguments: [...clusterArgs, {name: 'application', description: 'Application name; used for the role and the database, e.g. "billing"', required: true}],
    render: (args) =>
      [
        `Set up PostgreSQL access for the application "${args.application}" in the CloudNativePG ${where(args)}.`,
        '',
        `1. list_postgres_roles and list_postgres_databases for the cluster: reuse what exists instead of creating duplicates.`,
        `2. create_postgres_role with cluster_name "${args.cluster_name}", role_name "${args.application}", login true and nothing else privileged (no superuser, createdb, createrole, replication or bypassrls). Use dry_run=true first.`,
        `3. create_postgres_database with database_name "${args.application}", owner "${args.application}"; choose encoding/locale only if the user asked (they cannot be changed later).`,
        '4. Confirm with get_postgres_role_status and get_postgres_database_status that the operator applied both.',
        `5. get_connection_info with role_name and database_name "${args.application}" gives the host names, port and the Secret holding the password. Do not fetch the password itself (include_password) unless the user asks for it in this conversation.`,
      ].join('\n'),
  },
]

export const LIST_PROMPTS_ID = 'list-prompts'

export const BUILTIN_PROMPT_IDS: readonly string[] = [...BUILTIN_PROMPTS.map((p) => p.id), LIST_PROMPTS_ID]
