import {z} from 'zod'
import {defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {kubeName, namespaceParam} from '../validation.ts'
import {createReplicationObject, postgresObjectNameParam, reclaimPolicyParam} from './logical-replication.ts'
import {postgresIdentifier, settingsMapParam} from './params.ts'

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
    namespace: namespaceParam,
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false},
  handler: (args, context) =>
    createReplicationObject(
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
        const external = ((cluster.spec.externalClusters as Array<{name: string}> | undefined) ?? []).map((e) => e.name)
        if (!external.includes(args.external_cluster)) {
          throw new ToolError(`Cluster ${cluster.metadata.namespace}/${cluster.metadata.name} has no external cluster "${args.external_cluster}" in spec.externalClusters (it has: ${external.join(', ') || 'none'}). Add one with the source's connection parameters and credentials first.`)
        }
      },
    ),
})
