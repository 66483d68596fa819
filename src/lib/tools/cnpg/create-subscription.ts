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

export const createSubscription = defineTool({
  name: 'create_subscription',
  title: 'Create a logical replication subscription',
  description: [
    'Create a CloudNativePG Subscription: the operator runs CREATE SUBSCRIPTION in a database of the target cluster, connecting to the source through an entry of the target cluster\'s spec.externalClusters (connection parameters and credentials), to a publication made with create_publication.',
    'The tables must already exist in the target database (logical replication copies rows, not schema).',
    'Example: {"name": "orders-sub", "cluster": "reporting-db", "namespace": "payments", "database": "app", "publication_name": "orders_pub", "external_cluster": "orders-db"}. dry_run=true validates it with the API server and stores nothing.',
    'Errors: 404 when the cluster does not exist; an error naming the external clusters that exist when external_cluster is not one of them; 409 when the object exists; 403 without create permission on subscriptions (cnpg-cloudnative-pg-edit).',
  ].join('\n'),
  input: {
    name: kubeName('name', {description: 'Name of the Subscription object, e.g. "orders-sub".'}),
    cluster: kubeName('cluster', {maxLength: 50, description: 'The target cluster (where the data is copied to).'}),
    database: postgresIdentifier('database', 'The target database, e.g. "app".'),
    subscription_name: postgresObjectNameParam('subscription'),
    publication_name: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'publication_name must be the lower-case PostgreSQL name of the publication').describe('The publication\'s name inside PostgreSQL on the source (get_publication shows it).'),
    external_cluster: z.string().min(1).max(63).describe('Name of the entry in the target cluster\'s spec.externalClusters that reaches the source.'),
    publication_database: postgresIdentifier('publication_database', 'The source database, when it differs from the one in the external cluster\'s connection parameters.').optional(),
    parameters: settingsMapParam('Subscription parameters', 'Subscription parameters, e.g. {"copy_data": "true", "streaming": "on"}.').optional(),
    reclaim_policy: reclaimPolicyParam('subscription'),
    connect_as: postgresName('connect_as', 'A role of the source made with create_postgres_role (replication=true, read access to the published tables, e.g. in_roles ["pg_read_all_data"]). When external_cluster is a CNPG cluster of this namespace not yet in the target\'s spec.externalClusters, kmcp adds that entry: host <source>-rw, this role and its password Secret.').optional(),
    namespace: namespaceParam,
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
