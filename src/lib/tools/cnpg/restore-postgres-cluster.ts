import {z} from 'zod'
import {KubeApiError, describeKubeError} from '../../k8s/errors.ts'
import {type ToolContext, type ToolReply, defineTool} from '../registry.ts'
import {ToolError, kubeStep} from '../errors.ts'
import {defaultWaitTimeout, waitForObject} from '../wait.ts'
import {dnsSubdomainParam, kubeName, namespaceParam, rfc3339Problem, storageSizeParam} from '../validation.ts'
import {MANAGED_BY_KMCP, MANAGED_BY_LABEL} from '../postgres/secrets.ts'
import {CNPG_API_VERSION, type CnpgCluster, cnpgPath, postgresImage} from './api.ts'
import type {CnpgBackup} from './backups.ts'
import {clusterWait} from './cluster-ops.ts'
import {clusterNameParam, instancesParam, officialImage, postgresIdentifier, postgresVersionParam} from './params.ts'

const TARGET_FIELDS = ['target_time', 'target_lsn', 'target_xid', 'target_name', 'target_immediate'] as const

export const restorePostgresCluster = defineTool({
  name: 'restore_postgres_cluster',
  title: 'Restore a PostgreSQL cluster from a backup',
  description: [
    'Create a new cluster from a backup: a completed Backup (backup_name) or another cluster\'s object store (source_cluster), optionally to a point in time (one target_*). Replacing an existing cluster of that name needs confirm_replace.',
    'Example: {"name": "orders-db-restored", "backup_name": "orders-db-202611240200", "target_time": "2026-11-24T09:30:00Z", "wait": true}.',
    'Errors: 404 for the backup or source; 409 when the name is taken; 403.',
  ].join('\n'),
  get input() {
    return {
      name: clusterNameParam().describe('Name of the new (restored) cluster.'),
      backup_name: kubeName('backup_name', {description: 'A completed Backup.'}).optional(),
      source_cluster: kubeName('source_cluster', {maxLength: 50, description: 'A cluster whose object store to use.'}).optional(),
      target_time: z
        .string()
        .superRefine((value, ctx) => {
          const problem = rfc3339Problem(value)
          if (problem) ctx.addIssue({code: 'custom', message: `target_time "${value}" ${problem}`})
        })
        .optional()
        .describe('RFC 3339 time.'),
      target_lsn: z.string().regex(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/, 'target_lsn must be a PostgreSQL LSN such as "0/3000060"').optional().describe('e.g. "0/3000060".'),
      target_xid: z.string().regex(/^[0-9]{1,20}$/, 'target_xid must be a transaction id: digits only, e.g. "1234567"').optional().describe('Transaction id.'),
      // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
      target_name: z.string().min(1).max(63, 'target_name must be at most 63 characters').regex(/^[^\x00-\x1f]+$/, 'target_name must not contain control characters').optional().describe('A named restore point.'),
      target_immediate: z.boolean().optional().describe('Stop once consistent.'),
      exclusive: z.boolean().optional().describe('Stop just before the target.'),
      instances: instancesParam('Instances.').default(1),
      storage_size: storageSizeParam('storage_size', 'Default: the source\'s.').optional(),
      storage_class: dnsSubdomainParam('storage_class', 'Default: the source\'s.').optional(),
      postgres_version: postgresVersionParam('Default: the source\'s; same major.').optional(),
      database: postgresIdentifier('database', 'Application database in the backup.').optional(),
      owner: postgresIdentifier('owner', 'Its owner.').optional(),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_replace', when: 'to DELETE an existing cluster of the same name and replace it by the restore', message: (args) => `Replace the existing cluster ${String(args.name)} by the restore.`},
  waits: true,
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    // Cross-field rules, checked before anything is sent to Kubernetes.
    if (Boolean(args.backup_name) === Boolean(args.source_cluster)) throw new ToolError('Give exactly one of backup_name (a completed Backup) or source_cluster (restore from that cluster\'s object store).')
    const targets = TARGET_FIELDS.filter((field) => args[field] !== undefined && args[field] !== false)
    if (targets.length > 1) throw new ToolError(`Give at most one recovery target; got ${targets.join(', ')}.`)
    if (args.exclusive !== undefined && (targets.length === 0 || targets[0] === 'target_immediate')) throw new ToolError('exclusive only applies together with target_time, target_lsn, target_xid or target_name.')
    if (args.source_cluster === args.name) throw new ToolError(`The restored cluster needs a new name: "${args.name}" is the source cluster, which kmcp never replaces. Restore to another name, check it, then move applications over.`)

    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const ref = `${namespace}/${args.name}`
    const source = await resolveSource(kube, namespace, args, context.signal)
    if (source.clusterName === args.name) throw new ToolError(`Backup ${args.backup_name} belongs to cluster "${args.name}", the name you want to restore to: kmcp never replaces the source of a restore. Restore to another name.`)

    const manifest = restoredClusterManifest(args, namespace, source)
    const request = {method: 'POST' as const, path: cnpgPath('clusters', namespace), body: manifest, signal: context.signal}
    const action = `creating restored cluster ${ref}`
    const existing = await readClusterIfPresent(kube, namespace, args.name, context.signal)

    let replaced = false
    if (existing) {
      context.explain(`Restoring into ${ref} first DELETES the existing cluster ${ref} (${existing.spec.instances ?? 1} instance(s), ${existing.spec.storage?.size ?? 'unknown size'} each) with all its data, then creates a new cluster from ${source.description}.`)
      await replaceExisting(kube, context, namespace, existing)
      replaced = true
    } else {
      context.explain(`Create cluster ${ref} restored from ${source.description}.`, {destructive: false})
    }
    // In a dry run the old cluster is not really deleted, so its name is still taken: a create would only answer 409.
    if (!(context.dryRun && existing)) await kubeStep(action, () => kube.request<CnpgCluster>(request))
    const structured: Record<string, unknown> = {status: 'restoring', cluster: ref, source: source.description, replaced_existing: replaced, ...(manifest.spec.bootstrap.recovery.recoveryTarget ? {recovery_target: manifest.spec.bootstrap.recovery.recoveryTarget} : {})}
    return {
      structured,
      target: ref,
      waitFor: clusterWait({namespace}, args.name, defaultWaitTimeout(args.instances + 2)),
      render: () => [`Successfully started restoring cluster ${ref} from ${source.description}${replaced ? ' (the previous cluster with that name was deleted)' : ''}.`, `The operator now restores the data; follow it with get_cluster_status({"name": "${args.name}", "namespace": "${namespace}"}), or pass wait=true.`, 'The restored cluster has no backups configured; add them (to a different object store path) before relying on it.'].join('\n'),
    }
  },
})

type RestoreArgs = Parameters<typeof restorePostgresCluster.handler>[0]

interface RestoreSource {
  description: string
  clusterName: string
  /** The source cluster when it still exists: image, size and parameters come from it. */
  cluster?: CnpgCluster
  backup?: CnpgBackup
}

async function readClusterIfPresent(kube: Awaited<ReturnType<ToolContext['kube']>>, namespace: string, name: string, signal: AbortSignal): Promise<CnpgCluster | undefined> {
  try {
    return await kube.request<CnpgCluster>({method: 'GET', path: cnpgPath('clusters', namespace, name), signal})
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return undefined
    throw new ToolError(describeKubeError(error, `getting cluster ${namespace}/${name}`))
  }
}

async function resolveSource(kube: Awaited<ReturnType<ToolContext['kube']>>, namespace: string, args: RestoreArgs, signal: AbortSignal): Promise<RestoreSource> {
  if (args.backup_name) {
    const backup = await kubeStep(`getting backup ${namespace}/${args.backup_name}`, () => kube.request<CnpgBackup>({method: 'GET', path: cnpgPath('backups', namespace, args.backup_name), signal}))
    const phase = backup.status?.phase || 'new'
    if (phase !== 'completed') {
      throw new ToolError(`Backup ${namespace}/${args.backup_name} is "${phase}", not "completed", so it cannot be restored${backup.status?.error ? ` (error: ${backup.status.error})` : ''}. Pick a completed backup with list_backups.`)
    }
    const stoppedAt = backup.status?.stoppedAt
    if (args.target_time && stoppedAt && Date.parse(args.target_time) < Date.parse(stoppedAt)) {
      throw new ToolError(`target_time ${args.target_time} is before backup ${args.backup_name} finished (${stoppedAt}); a backup can only be rolled forward. Pick an earlier backup or a later time.`)
    }
    const clusterName = backup.spec.cluster?.name ?? ''
    const cluster = await readClusterIfPresent(kube, namespace, clusterName, signal)
    return {description: `backup ${namespace}/${args.backup_name} (of cluster ${clusterName})`, clusterName, cluster, backup}
  }
  const clusterName = args.source_cluster as string
  const cluster = await kubeStep(`getting source cluster ${namespace}/${clusterName}`, () => kube.request<CnpgCluster>({method: 'GET', path: cnpgPath('clusters', namespace, clusterName), signal}))
  if (!(cluster.spec.backup as {barmanObjectStore?: unknown} | undefined)?.barmanObjectStore) {
    throw new ToolError(`Cluster ${namespace}/${clusterName} has no object store (spec.backup.barmanObjectStore) to restore from. Use backup_name with a completed Backup instead (list_backups).`)
  }
  return {description: `the object store of cluster ${namespace}/${clusterName}`, clusterName, cluster}
}

function restoredClusterManifest(args: RestoreArgs, namespace: string, source: RestoreSource) {
  const recoveryTarget: Record<string, unknown> = {}
  if (args.target_time) recoveryTarget.targetTime = args.target_time
  if (args.target_lsn) recoveryTarget.targetLSN = args.target_lsn
  if (args.target_xid) recoveryTarget.targetXID = args.target_xid
  if (args.target_name) recoveryTarget.targetName = args.target_name
  if (args.target_immediate) recoveryTarget.targetImmediate = true
  if (args.exclusive !== undefined) recoveryTarget.exclusive = args.exclusive
  const database = args.database ?? 'app'
  const recovery: Record<string, unknown> = {
    ...(args.backup_name ? {backup: {name: args.backup_name}} : {source: source.clusterName}),
    ...(Object.keys(recoveryTarget).length > 0 ? {recoveryTarget} : {}),
    database,
    owner: args.owner ?? database,
  }
  const sourceSpec = source.cluster?.spec
  const majorFromBackup = (source.backup?.status as {majorVersion?: number} | undefined)?.majorVersion
  const image = args.postgres_version
    ? {imageName: officialImage(args.postgres_version)}
    : sourceSpec?.imageCatalogRef
      ? {imageCatalogRef: sourceSpec.imageCatalogRef}
      : source.cluster && postgresImage(source.cluster) !== 'operator default'
        ? {imageName: postgresImage(source.cluster)}
        : majorFromBackup
          ? {imageName: officialImage(majorFromBackup)}
          : {}
  const storageClass = args.storage_class ?? sourceSpec?.storage?.storageClass
  const spec: Record<string, unknown> & {bootstrap: {recovery: Record<string, unknown>}} = {
    instances: args.instances,
    ...image,
    storage: {size: args.storage_size ?? sourceSpec?.storage?.size ?? '10Gi', ...(storageClass ? {storageClass} : {})},
    bootstrap: {recovery},
  }
  // Recovery needs settings such as max_connections at least as high as on the source.
  if (sourceSpec?.postgresql?.parameters) spec.postgresql = {parameters: sourceSpec.postgresql.parameters}
  if (args.source_cluster && sourceSpec) {
    const store = (sourceSpec.backup as {barmanObjectStore: Record<string, unknown>}).barmanObjectStore
    spec.externalClusters = [{name: source.clusterName, barmanObjectStore: {...store, serverName: store.serverName ?? source.clusterName}}]
  }
  return {
    apiVersion: CNPG_API_VERSION,
    kind: 'Cluster',
    metadata: {name: args.name, namespace, labels: {[MANAGED_BY_LABEL]: MANAGED_BY_KMCP}},
    spec,
  }
}

/** Deletes the cluster being replaced and waits until it is gone, so the new one can take the name. */
async function replaceExisting(kube: Awaited<ReturnType<ToolContext['kube']>>, context: ToolContext, namespace: string, existing: CnpgCluster): Promise<void> {
  const name = existing.metadata.name
  await kubeStep(`deleting cluster ${namespace}/${name} to replace it`, () =>
    kube.request({method: 'DELETE', path: cnpgPath('clusters', namespace, name), body: {apiVersion: 'v1', kind: 'DeleteOptions', preconditions: {uid: existing.metadata.uid}}, signal: context.signal}),
  )
  if (context.dryRun) return
  const gone = await waitForObject<CnpgCluster>(kube, context, {collectionPath: cnpgPath('clusters', namespace), name, timeoutSeconds: 120, evaluate: () => ({done: false, message: `waiting for cluster ${name} to be deleted`})})
  if (gone.outcome !== 'deleted') {
    throw new ToolError(`Cluster ${namespace}/${name} was deleted but is still terminating after ${gone.elapsedSeconds} s (${gone.outcome}); the restore was not started. Call restore_postgres_cluster again once it is gone.`)
  }
}
