import {defineTool, type ToolReply} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {cnpgPath} from '../cnpg/api.ts'
import {namespaceParam} from '../validation.ts'
import {clusterNameParam, databaseNameParam} from './params.ts'
import {requireDatabase} from './get-postgres-database-status.ts'

export const deletePostgresDatabase = defineTool({
  name: 'delete_postgres_database',
  title: 'Delete a PostgreSQL database',
  description: [
    'Delete a database\'s Database object. Reclaim policy "delete" DROPS the database and its data (confirm_deletion); "retain" (default) keeps it in PostgreSQL.',
    'Example: {"cluster_name": "orders-db", "database_name": "orders", "dry_run": true}.',
    'Errors: "No Database object … was found"; 403.',
  ].join('\n'),
  get input() {
    return {
      cluster_name: clusterNameParam(),
      database_name: databaseNameParam(),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_deletion', when: 'to drop a database (reclaim policy "delete")', message: (args) => `Delete database ${String(args.database_name)} of cluster ${String(args.cluster_name)}.`},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const namespace = await context.namespace(args.namespace)
    const kube = await context.kube()
    const database = await requireDatabase(kube, namespace, args.cluster_name, args.database_name, context.signal)
    const target = `${namespace}/${database.metadata.name}`
    const drops = database.spec.databaseReclaimPolicy === 'delete'
    const outcomeText = drops
      ? `the database "${database.spec.name}" will be dropped from PostgreSQL with ALL its data (reclaim policy "delete")`
      : `the database "${database.spec.name}" will be retained in PostgreSQL with its data (reclaim policy "retain"); only the Database object is removed`
    const preview = [`Deleting Database ${target} (owner ${database.spec.owner}):`, `- ${outcomeText}`].join('\n')
    const deleteRequest = {method: 'DELETE' as const, path: cnpgPath('databases', namespace, database.metadata.name), body: {apiVersion: 'v1', kind: 'DeleteOptions', preconditions: {uid: database.metadata.uid}}, signal: context.signal}
    const action = `deleting Database ${target}`
    const base = {crd_name: database.metadata.name, database_name: database.spec.name, owner: database.spec.owner, drops_database: drops}

    // Only a "delete" reclaim policy drops data; removing the object of a retained database loses nothing.
    context.explain(drops ? `${preview}\nWARNING: this deletes data. Take a backup first if it may be needed.` : preview, {destructive: drops})
    await kubeStep(action, () => kube.request(deleteRequest))
    return {
      structured: {status: 'deleted', ...base},
      target,
      render: () => `Deleted Database ${target}: ${outcomeText}.`,
    }
  },
})
