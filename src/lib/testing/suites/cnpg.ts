import {fail, pass, type TestPlugin} from '../plugin.ts'
import {errorSummary} from '../runner.ts'
import {CNPG_GROUP as GROUP, type Created, backupPreview, callOk, clusterPreview, createOwned, created, deleteAndVerify, firstLine, found, inNamespace, mentions, names, step, summary, textOf} from './cnpg-support.ts'

/**
 * A full lifecycle in the run's namespace, one plugin per kmcp tool: create cluster → verify →
 * roles → databases → scale → resize preview → delete, and a cleanup plugin that deletes what
 * is left even when earlier plugins failed. Objects get unique "kmcp-test-…" names so runs never
 * collide, and only objects this run created are ever changed or deleted.
 */
/** Plugins that use the cluster and must finish before it is deleted. */
const LIFECYCLE_READS = [
  'verify_cluster_created',
  'get_cluster_status',
  'list_roles',
  'get_role_status',
  'update_role',
  'list_databases',
  'get_database_status',
  'scale_cluster',
  'resize_preview',
  'get_resize_status',
  'connection_info',
  'backup_preview',
  'scheduled_backup_preview',
  'restore_preview',
  'hibernate_preview',
  'resume_preview',
  'restart_preview',
  'promote_preview',
  'delete_instance_preview',
]

export const cnpgSuite: TestPlugin[] = [
  {
    name: 'list_clusters',
    group: GROUP,
    tool: 'list_postgres_clusters',
    description: 'list_postgres_clusters answers for the namespace',
    test: (session) =>
      step(async () => {
        const call = await callOk(session, 'list_postgres_clusters', {})
        const clusters = call.structured.clusters
        if (call.result.structuredContent && !Array.isArray(clusters)) return fail('structuredContent.clusters is not a list', call.text)
        return pass(`${Array.isArray(clusters) ? clusters.length : '?'} cluster(s) in ${String(call.structured.scope ?? 'the namespace')}`)
      }),
  },
  {
    name: 'create_cluster_dry_run',
    group: GROUP,
    tool: 'create_postgres_cluster',
    description: 'create_postgres_cluster with dry_run=true previews the Cluster and stores nothing',
    runAfter: ['list_clusters'],
    test: (session) =>
      step(async () => {
        const name = `${names(session).cluster}-dry`
        const call = await callOk(session, 'create_postgres_cluster', {name, instances: 1, storage_size: '1Gi', dry_run: true})
        if (!call.text.includes(name)) return fail('the preview does not name the cluster', call.text)
        if (await found(session, 'get_cluster_status', {name})) return fail(`the dry run created cluster ${name}`)
        return pass('previewed without creating anything')
      }),
  },
  {
    name: 'create_cluster',
    group: GROUP,
    tool: 'create_postgres_cluster',
    description: 'create_postgres_cluster creates a one-instance cluster',
    runAfter: ['create_cluster_dry_run'],
    test: (session) =>
      step(() => createOwned(session, 'cluster', 'create_postgres_cluster', {name: names(session).cluster, instances: 1, storage_size: '1Gi', wait: false})),
  },
  {
    name: 'verify_cluster_created',
    group: GROUP,
    tool: 'list_postgres_clusters',
    description: 'The new cluster appears in list_postgres_clusters',
    dependsOn: ['create_cluster'],
    test: (session) => step(async () => mentions((await callOk(session, 'list_postgres_clusters', {})).text, names(session).cluster, 'list_postgres_clusters')),
  },
  {
    name: 'get_cluster_status',
    group: GROUP,
    tool: 'get_cluster_status',
    description: 'get_cluster_status reports the new cluster',
    dependsOn: ['create_cluster'],
    test: (session) => step(async () => mentions((await callOk(session, 'get_cluster_status', {name: names(session).cluster, detail_level: 'detailed'})).text, names(session).cluster, 'get_cluster_status')),
  },
  {
    name: 'create_role',
    group: GROUP,
    tool: 'create_postgres_role',
    description: 'create_postgres_role adds a login role to the cluster',
    dependsOn: ['create_cluster'],
    test: (session) =>
      step(() => createOwned(session, 'role', 'create_postgres_role', {cluster_name: names(session).cluster, role_name: names(session).role, login: true})),
  },
  {
    name: 'list_roles',
    group: GROUP,
    tool: 'list_postgres_roles',
    description: 'The new role appears in list_postgres_roles',
    dependsOn: ['create_role'],
    test: (session) => step(async () => mentions((await callOk(session, 'list_postgres_roles', {cluster_name: names(session).cluster})).text, names(session).role, 'list_postgres_roles')),
  },
  {
    name: 'get_role_status',
    group: GROUP,
    tool: 'get_postgres_role_status',
    description: 'get_postgres_role_status reports the new role',
    dependsOn: ['create_role'],
    test: (session) => step(async () => mentions((await callOk(session, 'get_postgres_role_status', {cluster_name: names(session).cluster, role_name: names(session).role})).text, names(session).role, 'get_postgres_role_status')),
  },
  {
    name: 'update_role',
    group: GROUP,
    tool: 'update_postgres_role',
    description: 'update_postgres_role changes the role\'s connection limit',
    dependsOn: ['create_role'],
    runAfter: ['get_role_status'],
    test: (session) =>
      step(async () => {
        const call = await callOk(session, 'update_postgres_role', {cluster_name: names(session).cluster, role_name: names(session).role, connection_limit: 5})
        return pass(firstLine(call.text))
      }),
  },
  {
    name: 'create_database',
    group: GROUP,
    tool: 'create_postgres_database',
    description: 'create_postgres_database creates a database owned by the new role',
    dependsOn: ['create_role'],
    test: (session) =>
      step(() => createOwned(session, 'database', 'create_postgres_database', {cluster_name: names(session).cluster, database_name: names(session).database, owner: names(session).role})),
  },
  {
    name: 'list_databases',
    group: GROUP,
    tool: 'list_postgres_databases',
    description: 'The new database appears in list_postgres_databases',
    dependsOn: ['create_database'],
    test: (session) => step(async () => mentions((await callOk(session, 'list_postgres_databases', {cluster_name: names(session).cluster})).text, names(session).database, 'list_postgres_databases')),
  },
  {
    name: 'get_database_status',
    group: GROUP,
    tool: 'get_postgres_database_status',
    description: 'get_postgres_database_status reports the new database',
    dependsOn: ['create_database'],
    test: (session) =>
      step(async () => mentions((await callOk(session, 'get_postgres_database_status', {cluster_name: names(session).cluster, database_name: names(session).database})).text, names(session).database, 'get_postgres_database_status')),
  },
  {
    name: 'scale_cluster',
    group: GROUP,
    tool: 'scale_postgres_cluster',
    description: 'scale_postgres_cluster raises the cluster to two instances',
    dependsOn: ['create_cluster'],
    runAfter: ['get_cluster_status', 'verify_cluster_created'],
    test: (session) =>
      step(async () => {
        const call = await callOk(session, 'scale_postgres_cluster', {name: names(session).cluster, instances: 2, wait: false})
        const status = await callOk(session, 'get_cluster_status', {name: names(session).cluster, format: 'json'})
        const instances = (status.structured.instances ?? (status.structured.cluster as Record<string, unknown> | undefined)?.instances) as unknown
        if (instances !== undefined && instances !== 2) return fail(`after scaling, get_cluster_status reports ${String(instances)} instances instead of 2`, status.text)
        return pass(firstLine(call.text))
      }),
  },
  {
    name: 'resize_preview',
    group: GROUP,
    tool: 'resize_postgres_cluster',
    description: 'resize_postgres_cluster with dry_run=true previews a storage increase',
    dependsOn: ['create_cluster'],
    runAfter: ['scale_cluster'],
    test: (session) =>
      step(async () => {
        const call = await callOk(session, 'resize_postgres_cluster', {name: names(session).cluster, storage_size: '2Gi', dry_run: true})
        return call.text.includes('2Gi') ? pass('previewed the resize to 2Gi') : fail('the preview does not mention the new size 2Gi', call.text)
      }),
  },
  {
    name: 'get_resize_status',
    group: GROUP,
    tool: 'get_cluster_resize_status',
    description: 'get_cluster_resize_status answers for the new cluster',
    dependsOn: ['create_cluster'],
    runAfter: ['resize_preview'],
    test: (session) => step(async () => pass(await summary(session, 'get_cluster_resize_status', {name: names(session).cluster}))),
  },
  {
    name: 'list_backups',
    group: GROUP,
    tool: 'list_backups',
    description: 'list_backups answers for the namespace',
    runAfter: ['list_clusters'],
    test: (session) => step(async () => pass(await summary(session, 'list_backups', {}))),
  },
  {
    name: 'get_backup',
    group: GROUP,
    tool: 'get_backup',
    description: 'get_backup shows a backup of the namespace, or reports a missing one as not found naming list_backups',
    runAfter: ['list_backups'],
    test: (session) =>
      step(async () => {
        const listed = (await callOk(session, 'list_backups', {limit: 1, format: 'json'})).structured.backups as Array<{name: string}> | undefined
        const existing = listed?.[0]?.name
        if (existing) return mentions((await callOk(session, 'get_backup', {name: existing})).text, existing, 'get_backup')
        // No backup to read (this suite's cluster has no backup storage): a missing one must be a clear 404.
        const missing = `${names(session).cluster}-no-such-backup`
        const result = await session.callTool('get_backup', inNamespace(session, {name: missing}))
        const text = textOf(result)
        if (result.isError && /404/.test(text) && text.includes('list_backups')) return pass(`no backups; a missing one is reported as 404 with list_backups: ${firstLine(text)}`)
        return fail(`get_backup on the missing backup ${missing} did not answer 404 naming list_backups`, text)
      }),
  },
  {
    name: 'list_scheduled_backups',
    group: GROUP,
    tool: 'list_scheduled_backups',
    description: 'list_scheduled_backups answers for the namespace',
    runAfter: ['list_clusters'],
    test: (session) => step(async () => pass(await summary(session, 'list_scheduled_backups', {}))),
  },
  {
    name: 'connection_info',
    group: GROUP,
    tool: 'get_connection_info',
    description: 'get_connection_info describes how to reach the new cluster, without a password',
    dependsOn: ['create_cluster'],
    test: (session) =>
      step(async () => {
        const call = await callOk(session, 'get_connection_info', {cluster_name: names(session).cluster})
        if (!call.text.includes(names(session).cluster)) return fail('the answer does not name the cluster', call.text)
        if (call.structured.password !== undefined) return fail('the password was returned although include_password was not set')
        return pass(firstLine(call.text))
      }),
  },
  {
    name: 'backup_preview',
    group: GROUP,
    tool: 'create_backup',
    description: 'create_backup with dry_run=true previews a backup, or refuses naming the missing backup storage',
    dependsOn: ['create_cluster'],
    test: (session) => backupPreview(session, 'create_backup', {cluster: names(session).cluster}),
  },
  {
    name: 'scheduled_backup_preview',
    group: GROUP,
    tool: 'create_scheduled_backup',
    description: 'create_scheduled_backup with dry_run=true previews a schedule, or refuses naming the missing backup storage',
    dependsOn: ['create_cluster'],
    test: (session) => backupPreview(session, 'create_scheduled_backup', {name: `${names(session).cluster}-nightly`, cluster: names(session).cluster, schedule: '0 0 3 * * *', suspend: true}),
  },
  {
    name: 'restore_preview',
    group: GROUP,
    tool: 'restore_postgres_cluster',
    description: 'restore_postgres_cluster with dry_run=true previews a restore, or refuses naming the missing backup storage',
    dependsOn: ['create_cluster'],
    test: (session) => backupPreview(session, 'restore_postgres_cluster', {name: `${names(session).cluster}-restored`, source_cluster: names(session).cluster}),
  },
  clusterPreview('hibernate_preview', 'hibernate_postgres_cluster', 'previews hibernation'),
  clusterPreview('resume_preview', 'resume_postgres_cluster', 'answers for a cluster that is not hibernated', {runAfter: ['hibernate_preview']}),
  clusterPreview('restart_preview', 'restart_postgres_cluster', 'previews a rolling restart', {runAfter: ['resume_preview']}),
  clusterPreview('promote_preview', 'promote_cluster_instance', 'previews a switchover (needs running instances)', {onInstance: true}),
  clusterPreview('delete_instance_preview', 'delete_cluster_instance', 'previews recreating an instance (needs running instances)', {onInstance: true, runAfter: ['promote_preview']}),
  {
    name: 'prompt_manifest',
    group: GROUP,
    tool: 'admin_get_prompt_manifest',
    description: 'admin_get_prompt_manifest describes the prompts the server offers',
    test: (session) => step(async () => pass(await summary(session, 'admin_get_prompt_manifest', {}))),
  },
  {
    name: 'delete_database',
    group: GROUP,
    tool: 'delete_postgres_database',
    description: 'delete_postgres_database removes the new database',
    dependsOn: ['create_database'],
    runAfter: LIFECYCLE_READS,
    test: (session) =>
      step(() => {
        const {cluster, database} = names(session)
        return deleteAndVerify(session, 'database', 'delete_postgres_database', {cluster_name: cluster, database_name: database, confirm_deletion: true}, () =>
          found(session, 'get_postgres_database_status', {cluster_name: cluster, database_name: database}),
        )
      }),
  },
  {
    name: 'delete_role',
    group: GROUP,
    tool: 'delete_postgres_role',
    description: 'delete_postgres_role removes the new role',
    dependsOn: ['create_role'],
    runAfter: [...LIFECYCLE_READS, 'delete_database'],
    test: (session) =>
      step(() => {
        const {cluster, role} = names(session)
        return deleteAndVerify(session, 'role', 'delete_postgres_role', {cluster_name: cluster, role_name: role, confirm_deletion: true}, () => found(session, 'get_postgres_role_status', {cluster_name: cluster, role_name: role}))
      }),
  },
  {
    name: 'delete_cluster',
    group: GROUP,
    tool: 'delete_postgres_cluster',
    description: 'delete_postgres_cluster deletes the new cluster',
    dependsOn: ['create_cluster'],
    runAfter: [...LIFECYCLE_READS, 'delete_database', 'delete_role'],
    test: (session) =>
      step(() => {
        const {cluster} = names(session)
        return deleteAndVerify(session, 'cluster', 'delete_postgres_cluster', {name: cluster, confirm_deletion: true}, () => found(session, 'get_cluster_status', {name: cluster}))
      }),
  },
  {
    name: 'cleanup',
    group: GROUP,
    description: 'Deletes whatever this run created and did not delete (runs even after failures)',
    cleanup: true,
    // Runs even without a connection, so that a report of a server gone away names the leftovers.
    needsConnection: false,
    test: async (session) => {
      const left = created(session)
      const {cluster, role, database} = names(session)
      const attempts: Array<[keyof Created, string, Record<string, unknown>]> = [
        ['database', 'delete_postgres_database', {cluster_name: cluster, database_name: database, confirm_deletion: true}],
        ['role', 'delete_postgres_role', {cluster_name: cluster, role_name: role, confirm_deletion: true}],
        ['cluster', 'delete_postgres_cluster', {name: cluster, confirm_deletion: true}],
      ]
      const done: string[] = []
      const problems: string[] = []
      for (const [kind, tool, args] of attempts) {
        const name = left[kind]
        if (!name) continue
        try {
          const result = await session.callTool(tool, inNamespace(session, args, tool))
          if (result.isError) problems.push(`${kind} ${name}: ${firstLine(textOf(result))}`)
          else {
            delete left[kind]
            done.push(`${kind} ${name}`)
          }
        } catch (error) {
          problems.push(`${kind} ${name}: ${errorSummary(error)}`)
        }
      }
      if (problems.length > 0) return fail(`could not delete ${problems.length} object(s) this run created; delete them by hand`, problems.join('\n'))
      return pass(done.length > 0 ? `deleted leftovers: ${done.join(', ')}` : 'nothing left to delete')
    },
  },
]
