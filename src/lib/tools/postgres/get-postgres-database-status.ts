import {z} from 'zod'
import type {KubeClient} from '../../k8s/client.ts'
import {defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {truncationSchema} from '../budget.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {type Database, findManagedObject} from './objects.ts'
import {clusterNameParam, databaseNameParam} from './params.ts'
import {createOptionsSchema, databaseStatusSchema, renderCreateOptions, renderDatabaseStatus, summarizeDatabase, summarizeDatabaseStatus} from './database-summary.ts'

/** The Database object of a database, or an error that says how to find the right name. */
export async function requireDatabase(kube: KubeClient, namespace: string, cluster: string, database: string, signal: AbortSignal): Promise<Database> {
  const found = await findManagedObject<{plural: 'databases'; item: Database}>(kube, 'databases', namespace, cluster, database, signal)
  if (!found) throw new ToolError(`No Database object for database "${database}" of cluster ${cluster} was found in namespace ${namespace}. list_postgres_databases shows the managed databases of the cluster.`)
  return found
}

export const getPostgresDatabaseStatus = defineTool({
  name: 'get_postgres_database_status',
  title: 'Get PostgreSQL database status',
  description: [
    'One managed database: owner, reclaim policy, locale and encoding options and the operator\'s status (applied, message, extensions, schemas).',
    'Example: {"cluster_name": "orders-db", "database_name": "orders"}.',
    'Errors: "No Database object … was found"; 403.',
  ].join('\n'),
  get input() {
    return {cluster_name: clusterNameParam(), database_name: databaseNameParam(), namespace: namespaceParam(), format: formatParam()}
  },
  get output() {
    return {
      cluster: z.string(),
      namespace: z.string(),
      crd_name: z.string(),
      database_name: z.string(),
      owner: z.string(),
      ensure: z.string(),
      reclaim_policy: z.string(),
      generation: z.number().optional(),
      resource_version: z.string().optional(),
      create_options: createOptionsSchema(),
      status: databaseStatusSchema(),
      truncated: truncationSchema(),
    }
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const database = await requireDatabase(kube, namespace, args.cluster_name, args.database_name, context.signal)
    const summary = summarizeDatabase(database)
    const structured = {
      cluster: args.cluster_name,
      namespace,
      crd_name: summary.crd_name,
      database_name: summary.database_name,
      owner: summary.owner,
      ensure: summary.ensure,
      reclaim_policy: summary.reclaim_policy,
      generation: database.metadata.generation,
      resource_version: database.metadata.resourceVersion,
      create_options: summary.create_options,
      status: summarizeDatabaseStatus(database),
    }
    return {
      structured,
      render: (s: typeof structured) =>
        [
          `**Database: ${s.namespace}/${s.crd_name}**`,
          `- Database Name: ${s.database_name}`,
          `- Cluster: ${s.cluster}`,
          `- Owner: ${s.owner}`,
          `- Ensure: ${s.ensure}`,
          `- Reclaim Policy: ${s.reclaim_policy}`,
          `- Generation: ${s.generation ?? 'unknown'}`,
          `- Resource Version: ${s.resource_version ?? 'unknown'}`,
          '',
          'Current Locale/Encoding Values:',
          ...renderCreateOptions(s.create_options, true),
          '',
          ...renderDatabaseStatus(s.status),
        ].join('\n'),
    }
  },
})
