import {z} from 'zod'
import {type ToolContext, defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {kubeName, namespaceParam} from '../validation.ts'
import {createReplicationObject, postgresObjectNameParam, reclaimPolicyParam} from './logical-replication.ts'
import {postgresIdentifier, settingsMapParam} from './params.ts'
import {type CnpgCluster, cnpgPath} from './api.ts'
import {waitForObject} from '../wait.ts'
import {loadCluster, mergePatchCluster} from './cluster-ops.ts'
import {postgresName, roleSecretName} from '../postgres/names.ts'
import {requireAdminFor} from '../privileged-fields.ts'
import {serviceHost} from '../postgres/connection.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from '../common-parameters.ts'

export const createSubscription = defineTool({
  name: 'create_subscription',
  title: 'Create a logical replication subscription',
  description: [
    'CREATE SUBSCRIPTION in a database of the target cluster (a Subscription) to a publication, reaching the source through one of the cluster\'s spec.externalClusters. The tables must already exist in the target.',
    'Example: {"name": "orders-sub", "cluster": "reporting-db", "database": "app", "publication_name": "orders_pub", "external_cluster": "orders-db"}.',
    'Errors: 404; an unknown external_cluster (the error lists them); 409; 403.',
  ].join('\n'),
  get input() {
    return {
      name: kubeName('name', {description: SHARED_PARAMETER_DESCRIPTIONS.subscription}),
      cluster: kubeName('cluster', {maxLength: 50, description: 'Target cluster.'}),
      database: postgresIdentifier('database', 'Target database.'),
      subscription_name: postgresObjectNameParam('subscription'),
      publication_name: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'publication_name must be the lower-case PostgreSQL name of the publication').describe('Its name in PostgreSQL.'),
      external_cluster: z.string().min(1).max(63).describe('spec.externalClusters entry of the source.'),
      publication_database: postgresIdentifier('publication_database', 'Source database, if not the external cluster\'s.').optional(),
      parameters: settingsMapParam('Subscription parameters', 'e.g. {"copy_data": "true"}.').optional(),
      reclaim_policy: reclaimPolicyParam('subscription'),
      connect_as: postgresName('connect_as', 'Source role (replication=true): links a CNPG source of this namespace into spec.externalClusters if missing.').optional(),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false},
  handler: async (args, context) => {
    requireAdminFor(context.identity, [{name: 'connect_as', given: args.connect_as !== undefined, why: 'it gives the target cluster a role\'s password of another cluster'}])
    const linked = args.connect_as ? await linkSourceCluster(context, {...args, connect_as: args.connect_as}) : undefined
    return createReplicationObject(
      context,
      'subscription',
      args,
      {
        name: args.subscription_name ?? args.name.replace(/-/g, '_'),
        dbname: args.database,
        publicationName: args.publication_name,
        externalClusterName: args.external_cluster,
        ...(args.publication_database ? {publicationDBName: args.publication_database} : {}),
        ...(args.parameters ? {parameters: args.parameters} : {}),
        subscriptionReclaimPolicy: args.reclaim_policy,
      },
      (cluster) => {
        const external = externalClusterNames(cluster)
        // In a dry run the entry linkSourceCluster added was checked by the API server but not stored.
        if (!linked && !external.includes(args.external_cluster)) {
          throw new ToolError(`Cluster ${cluster.metadata.namespace}/${cluster.metadata.name} has no external cluster "${args.external_cluster}" in spec.externalClusters (it has: ${external.join(', ') || 'none'}). When the source is a CNPG cluster of this namespace, give connect_as (a role of the source with replication=true, made with create_postgres_role) and kmcp adds the entry.`)
        }
      },
      linked,
    )
  },
})

const externalClusterNames = (cluster: CnpgCluster) => ((cluster.spec.externalClusters as Array<{name: string}> | undefined) ?? []).map((e) => e.name)

/**
 * Adds to the target cluster's spec.externalClusters an entry that reaches the source CNPG cluster
 * of the same namespace through its -rw Service as `connect_as`, with that role's kmcp password
 * Secret. Returns what it did, or undefined when the entry exists (it is left as it is).
 */
async function linkSourceCluster(context: ToolContext, args: {cluster: string; external_cluster: string; connect_as: string; database: string; publication_database?: string; namespace?: string}): Promise<string | undefined> {
  const target = await loadCluster(context, args.cluster, args.namespace)
  const existing = (target.cluster.spec.externalClusters as Array<Record<string, unknown>> | undefined) ?? []
  if (existing.some((e) => e.name === args.external_cluster)) return undefined
  const source = await loadCluster(context, args.external_cluster, target.namespace).catch((error: unknown) => {
    throw new ToolError(`external_cluster "${args.external_cluster}" is neither in spec.externalClusters of cluster ${target.ref} nor a CNPG cluster of namespace ${target.namespace}: ${(error as Error).message}`)
  })
  const entry = {
    name: args.external_cluster,
    connectionParameters: {host: serviceHost(args.external_cluster, target.namespace, 'rw'), user: args.connect_as, dbname: args.publication_database ?? args.database},
    password: {name: roleSecretName(args.external_cluster, args.connect_as), key: 'password'},
  }
  const added = `External cluster "${args.external_cluster}" in spec.externalClusters of cluster ${target.ref}: host ${entry.connectionParameters.host}, database ${entry.connectionParameters.dbname}, role ${args.connect_as} with the password in Secret ${entry.password.name} (create_postgres_role made it; the role needs replication=true and read access to the published tables).`
  // resourceVersion: a change made to the list meanwhile fails the patch instead of being overwritten.
  const patch = {metadata: {resourceVersion: target.cluster.metadata.resourceVersion}, spec: {externalClusters: [...existing, entry]}}
  await mergePatchCluster(target, args.cluster, patch, {action: `adding external cluster ${args.external_cluster} (source ${source.ref}) to cluster ${target.ref}`, signal: context.signal})
  // The instances can read the Secret (and write their pgpass file) only once the operator has
  // granted it, which it records in the status; a Subscription made before fails its first
  // attempt and is retried only ~30 s later (seen on the real operator). Not waited for: a timeout.
  if (!context.dryRun) {
    const granted = (cluster: CnpgCluster) => Boolean((cluster.status?.secretsResourceVersion as {externalClusterSecretVersion?: Record<string, string>} | undefined)?.externalClusterSecretVersion?.[entry.password.name])
    await waitForObject<CnpgCluster>(target.kube, context, {collectionPath: cnpgPath('clusters', target.namespace), name: args.cluster, timeoutSeconds: 30, evaluate: (cluster) => ({done: granted(cluster), message: `the operator grants cluster ${target.ref} the Secret ${entry.password.name}`})})
  }
  return added
}
