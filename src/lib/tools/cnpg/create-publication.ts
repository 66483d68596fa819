import {z} from 'zod'
import {defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {kubeName, namespaceParam} from '../validation.ts'
import {createReplicationObject, postgresObjectNameParam, reclaimPolicyParam} from './logical-replication.ts'
import {postgresIdentifier, settingsMapParam} from './params.ts'

const qualifiedTable = z.string().regex(/^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/, 'tables are "table" or "schema.table" in lower case').describe('A table, "schema.table" or "table" (schema public)')

export const createPublication = defineTool({
  name: 'create_publication',
  title: 'Create a logical replication publication',
  description: [
    'Create a CloudNativePG Publication: the operator runs CREATE PUBLICATION in a database of the source cluster. Publish all tables (all_tables=true), some tables, or every table of some schemas. Another cluster subscribes with create_subscription.',
    'Example: {"name": "orders-pub", "cluster": "orders-db", "namespace": "payments", "database": "app", "tables": ["public.orders", "public.customers"]}. dry_run=true validates it with the API server and stores nothing.',
    'Errors: 404 when the cluster does not exist; 409 when the object exists; 403 without create permission on publications (cnpg-cloudnative-pg-edit); 422 when the API server rejects the spec. get_publication shows whether PostgreSQL accepted it.',
  ].join('\n'),
  input: {
    name: kubeName('name', {description: 'Name of the Publication object, e.g. "orders-pub".'}),
    cluster: kubeName('cluster', {maxLength: 50, description: 'The source cluster.'}),
    database: postgresIdentifier('database', 'The database to publish from, e.g. "app".'),
    publication_name: postgresObjectNameParam('publication'),
    all_tables: z.boolean().default(false).describe('true: FOR ALL TABLES (also tables created later).'),
    tables: z.array(qualifiedTable).max(100).optional().describe('Tables to publish.'),
    schemas: z.array(postgresIdentifier('schema', 'A schema')).max(20).optional().describe('Publish every table in these schemas (FOR TABLES IN SCHEMA).'),
    parameters: settingsMapParam('Publication parameters', 'Publication parameters, e.g. {"publish": "insert,update"}.').optional(),
    reclaim_policy: reclaimPolicyParam('publication'),
    namespace: namespaceParam,
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
