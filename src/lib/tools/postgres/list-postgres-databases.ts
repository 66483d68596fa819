import {z} from 'zod'
import {defineTool} from '../registry.ts'
import {type TruncationNote, truncationSchema} from '../budget.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {type Database, getCluster, listManagedObjects} from './objects.ts'
import {clusterNameParam} from './params.ts'
import {databaseSchema, renderCreateOptions, summarizeDatabase} from './database-summary.ts'

export const listPostgresDatabases = defineTool({
  name: 'list_postgres_databases',
  title: 'List PostgreSQL databases of a cluster',
  description: [
    'List a cluster\'s databases managed by Database objects: owner, reclaim policy, applied, locale options. Databases made by hand (and the bootstrap "app") are not listed.',
    'Example: {"cluster_name": "orders-db"}.',
    'Errors: "cluster was not found"; 403.',
  ].join('\n'),
  get input() {
    return {cluster_name: clusterNameParam(), namespace: namespaceParam(), format: formatParam()}
  },
  get output() {
    return {cluster: z.string(), namespace: z.string(), databases: z.array(databaseSchema()), count: z.number(), truncated: truncationSchema()}
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    await getCluster(kube, namespace, args.cluster_name, context.signal)
    const databases = await listManagedObjects<{plural: 'databases'; item: Database}>(kube, 'databases', namespace, args.cluster_name, context.signal)
    const structured = {cluster: args.cluster_name, namespace, databases: databases.map(summarizeDatabase), count: databases.length}
    return {
      structured,
      listField: 'databases',
      moreHint: 'Ask for one database at a time with get_postgres_database_status.',
      render: (s: typeof structured & {truncated?: TruncationNote}) => {
        if (s.databases.length === 0) return `No managed databases found for cluster ${s.namespace}/${s.cluster}. Create one with create_postgres_database.`
        const lines = [`Found ${s.count} managed database(s) for cluster ${s.namespace}/${s.cluster}:`, '']
        for (const db of s.databases) {
          lines.push(`**${db.database_name}** (CRD: ${db.crd_name})`, `- Owner: ${db.owner}`, `- Ensure: ${db.ensure}`, `- Reclaim Policy: ${db.reclaim_policy}`, `- Applied: ${db.applied === null ? 'not reported yet' : db.applied ? 'True' : 'False'}`)
          lines.push(...renderCreateOptions(db.create_options, false), '')
        }
        if (s.truncated?.omitted_items) lines.push(`[${s.truncated.omitted_items} more database(s) were left out to stay within the response budget. ${s.truncated.how_to_get_the_rest}]`)
        return lines.join('\n').trimEnd()
      },
    }
  },
})
