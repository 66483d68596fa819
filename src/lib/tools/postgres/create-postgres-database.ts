import {z} from 'zod'
import {defineTool} from '../registry.ts'
import {ToolError, kubeStep} from '../errors.ts'
import {CNPG_API_VERSION, type CnpgCluster, cnpgPath} from '../cnpg/api.ts'
import {namespaceParam} from '../validation.ts'
import {checkDerivedName, objectNameFor, postgresName} from './names.ts'
import {type Database, type DatabaseRole, findManagedObject, getCluster, legacyManagedRoles, listManagedObjects} from './objects.ts'
import {clusterNameParam, databaseNameParam, reclaimPolicyParam} from './params.ts'
import {CREATE_OPTIONS, type DatabaseSummary, renderCreateOptions, summarizeDatabase} from './database-summary.ts'
import type {KubeClient} from '../../k8s/client.ts'

// Locale names ("en_US.UTF-8", "und-u-ks-level2", "C.UTF-8") and encodings: printable, no quotes.
const localeText = (what: string, example: string) =>
  z
    .string()
    .min(1, `${what} must not be empty (omit it instead)`)
    .max(128, `${what} must be at most 128 characters`)
    .regex(/^[A-Za-z0-9_.@=+:-]+$/, `${what} may contain only letters, digits and _ . @ = + : - (e.g. ${example})`)

/** Built on first use (see policy/mount.ts): the executable starts without it. */
const input = () => ({
  cluster_name: clusterNameParam(),
  database_name: databaseNameParam(),
  owner: postgresName('owner', 'An existing role, e.g. "app".'),
  reclaim_policy: reclaimPolicyParam().default('retain').describe('"delete": deleting the object drops the database.'),
  encoding: localeText('encoding', '"UTF8"').optional().describe('e.g. "UTF8".'),
  locale: localeText('locale', '"en_US.UTF-8"').optional().describe('e.g. "en_US.UTF-8".'),
  locale_provider: z.enum(['builtin', 'icu', 'libc']).optional().describe('icu needs icu_locale; builtin needs builtin_locale.'),
  locale_collate: localeText('locale_collate', '"en_US.UTF-8"').optional().describe('LC_COLLATE.'),
  locale_ctype: localeText('locale_ctype', '"en_US.UTF-8"').optional().describe('LC_CTYPE.'),
  icu_locale: localeText('icu_locale', '"en-US"').optional().describe('e.g. "en-US".'),
  icu_rules: z.string().min(1).max(1024, 'icu_rules must be at most 1024 characters').optional().describe('ICU tailoring rules.'),
  builtin_locale: localeText('builtin_locale', '"C.UTF-8"').optional().describe('"C" or "C.UTF-8" (PostgreSQL 17+).'),
  collation_version: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'collation_version may contain only letters, digits, "_", "." and "-" (e.g. "153.120")').optional().describe('Rarely needed.'),
  skip_owner_check: z.boolean().default(false).describe('Allow an owner created by SQL.'),
  namespace: namespaceParam(),
})

/** Roles kmcp can see for a cluster: DatabaseRoles, legacy managed roles, the bootstrap owner and postgres. */
async function knownRoles(kube: KubeClient, namespace: string, cluster: CnpgCluster, signal: AbortSignal): Promise<string[]> {
  const roles = await listManagedObjects<{plural: 'databaseroles'; item: DatabaseRole}>(kube, 'databaseroles', namespace, cluster.metadata.name, signal)
  const bootstrap = cluster.spec.bootstrap as {initdb?: {owner?: string; database?: string}} | undefined
  const initdbOwner = bootstrap?.initdb?.owner ?? bootstrap?.initdb?.database ?? (bootstrap === undefined || bootstrap.initdb ? 'app' : undefined)
  return [...new Set(['postgres', ...(initdbOwner ? [initdbOwner] : []), ...legacyManagedRoles(cluster), ...roles.map((r) => r.spec.name)])]
}

interface CreateDatabaseResult extends Record<string, unknown> {
  status: 'created'
  cluster: string
  namespace: string
  database: DatabaseSummary
}

export const createPostgresDatabase = defineTool({
  name: 'create_postgres_database',
  title: 'Create a PostgreSQL database',
  description: [
    'Create a database (a Database "<cluster>-<database>") owned by an existing role, with locale and encoding options that cannot change later. postgres, template0 and template1 are reserved.',
    'Example: {"cluster_name": "orders-db", "database_name": "orders", "owner": "app"}.',
    'Errors: "cluster was not found"; "owner … is not a role" (create_postgres_role first); "already exists"; 422; 403.',
  ].join('\n'),
  get input() {
    return input()
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false},
  handler: async (args, context) => {
    const namespace = await context.namespace(args.namespace)
    const crdName = objectNameFor(args.cluster_name, args.database_name)
    checkDerivedName('Database', crdName)
    const kube = await context.kube()
    const cluster = await getCluster(kube, namespace, args.cluster_name, context.signal)
    const existing = await findManagedObject<{plural: 'databases'; item: Database}>(kube, 'databases', namespace, args.cluster_name, args.database_name, context.signal)
    if (existing) throw new ToolError(`Database "${args.database_name}" already exists for cluster ${namespace}/${args.cluster_name} (Database object "${existing.metadata.name}"). get_postgres_database_status shows it.`)
    if (!args.skip_owner_check) {
      const roles = await knownRoles(kube, namespace, cluster, context.signal)
      if (!roles.includes(args.owner)) {
        throw new ToolError(`Owner "${args.owner}" is not a role of cluster ${namespace}/${args.cluster_name} that kmcp can see (known: ${roles.join(', ')}). Create it first with create_postgres_role, or pass skip_owner_check=true if it was created directly in PostgreSQL.`)
      }
    }

    const options = Object.fromEntries(CREATE_OPTIONS.filter((o) => args[o.arg] !== undefined).map((o) => [o.field, args[o.arg]]))
    const manifest: Database = {
      apiVersion: CNPG_API_VERSION,
      kind: 'Database',
      metadata: {name: crdName, namespace, labels: {'cnpg.io/cluster': args.cluster_name, 'cnpg.io/database': args.database_name, 'app.kubernetes.io/managed-by': 'kmcp'}},
      spec: {name: args.database_name, owner: args.owner, cluster: {name: args.cluster_name}, ensure: 'present', databaseReclaimPolicy: args.reclaim_policy, ...options},
    }
    const createRequest = {method: 'POST' as const, path: cnpgPath('databases', namespace), body: manifest, signal: context.signal}
    const target = `${namespace}/${crdName}`
    const policyNote = `Reclaim policy "${args.reclaim_policy}": deleting the Database object later ${args.reclaim_policy === 'delete' ? 'DROPS the database and all its data' : 'keeps the database and its data in PostgreSQL'}.`
    const render = (s: CreateDatabaseResult) =>
      [
        `Created database "${s.database.database_name}" in cluster ${s.namespace}/${s.cluster} (Database ${s.database.crd_name}), owner ${s.database.owner}. The operator creates it in PostgreSQL (it retries until the owner role exists there); check with get_postgres_database_status.`,
        ...renderCreateOptions(s.database.create_options, false),
        policyNote,
        `kubectl: kubectl get database ${s.database.crd_name} -n ${s.namespace} -o yaml`,
      ].join('\n')

    context.explain(`Create database "${args.database_name}" in cluster ${namespace}/${args.cluster_name} (Database ${crdName}), owner ${args.owner}.\n${policyNote}`)
    const created = await kubeStep(`creating Database ${target}`, () => kube.request<Database>(createRequest))
    const structured: CreateDatabaseResult = {status: 'created', cluster: args.cluster_name, namespace, database: summarizeDatabase(created)}
    return {structured, target, render}
  },
})
