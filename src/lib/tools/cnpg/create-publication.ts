import {z} from 'zod'
import {defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {kubeName, namespaceParam} from '../validation.ts'
import {createReplicationObject, postgresObjectNameParam, reclaimPolicyParam} from './logical-replication.ts'
import {postgresIdentifier, settingsMapParam} from './params.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from '../common-parameters.ts'
import {once} from '../lazy.ts'

const qualifiedTable = once(() => z.string().regex(/^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/, 'tables are "table" or "schema.table" in lower case').describe('"schema.table" or "table"'))

export const createPublication = defineTool({
  name: 'create_publication',
  title: 'Create a logical replication publication',
  description: [
    'CREATE PUBLICATION in a database of the source cluster (a Publication): all_tables, some tables, or the tables of some schemas. Subscribe with create_subscription; get_publication shows if it applied.',
    'Example: {"name": "orders-pub", "cluster": "orders-db", "database": "app", "tables": ["public.orders"]}.',
    'Errors: 404; 409 when the name is taken; 403; 422.',
  ].join('\n'),
  get input() {
    return {
      name: kubeName('name', {description: SHARED_PARAMETER_DESCRIPTIONS.publication}),
      cluster: kubeName('cluster', {maxLength: 50, description: 'Source cluster.'}),
      database: postgresIdentifier('database', 'Database.'),
      publication_name: postgresObjectNameParam('publication'),
      all_tables: z.boolean().default(false).describe('FOR ALL TABLES.'),
      tables: z.array(qualifiedTable()).max(100).optional().describe('Tables to publish.'),
      schemas: z.array(postgresIdentifier('schema', 'A schema')).max(20).optional().describe('FOR TABLES IN SCHEMA.'),
      parameters: settingsMapParam('Publication parameters', 'e.g. {"publish": "insert"}.').optional(),
      reclaim_policy: reclaimPolicyParam('publication'),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false},
  handler: (args, context) => {
    const objects = [
      ...(args.schemas ?? []).map((schema) => ({tablesInSchema: schema})),
      ...(args.tables ?? []).map((table) => {
        const [schema, name] = table.includes('.') ? table.split('.') : [undefined, table]
        return {table: {name, ...(schema ? {schema} : {})}}
      }),
    ]
    if (args.all_tables === (objects.length > 0)) {
      throw new ToolError(args.all_tables ? 'Give either all_tables=true or tables/schemas, not both.' : 'Say what to publish: all_tables=true, or tables (e.g. ["public.orders"]) and/or schemas (e.g. ["sales"]).')
    }
    return createReplicationObject(context, 'publication', args, {
      name: args.publication_name ?? args.name.replace(/-/g, '_'),
      dbname: args.database,
      target: args.all_tables ? {allTables: true} : {objects},
      ...(args.parameters ? {parameters: args.parameters} : {}),
      publicationReclaimPolicy: args.reclaim_policy,
    })
  },
})
