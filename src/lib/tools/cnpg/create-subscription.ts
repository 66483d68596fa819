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
    'CREATE SUBSCRIPTION in a database of the target cluster (a Subscription) to a publication, reaching the source through one of the cluster\'s spec.externalClusters. The tables must already exist in the target.',
    'Example: {"name": "orders-sub", "cluster": "reporting-db", "database": "app", "publication_name": "orders_pub", "external_cluster": "orders-db"}.',
    'Errors: 404; an unknown external_cluster (the error lists them); 409; 403.',
  ].join('\n'),
  get input() {
    return {
      name: kubeName('name', {description: 'Subscription name.'}),
      cluster: kubeName('cluster', {maxLength: 50, description: 'Target cluster.'}),
      database: postgresIdentifier('database', 'Target database.'),
      subscription_name: postgresObjectNameParam('subscription'),
      publication_name: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'publication_name must be the lower-case PostgreSQL name of the publication').describe('Its name in PostgreSQL.'),
      external_cluster: z.string().min(1).max(63).describe('spec.externalClusters entry of the source.'),
      publication_database: postgresIdentifier('publication_database', 'Source database, if not the external cluster\'s.').optional(),
      parameters: settingsMapParam('Subscription parameters', 'e.g. {"copy_data": "true"}.').optional(),
      reclaim_policy: reclaimPolicyParam('subscription'),
      namespace: namespaceParam,
    }
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
