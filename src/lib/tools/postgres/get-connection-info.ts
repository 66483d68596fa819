import {z} from 'zod'
import {defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {truncationSchema} from '../budget.ts'
import type {CnpgCluster} from '../cnpg/api.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {type Database, type DatabaseRole, findManagedObject, getCluster} from './objects.ts'
import {clusterNameParam, databaseNameParam, roleNameParam} from './params.ts'
import {passwordSecretOf} from './role-summary.ts'
import {kubectlReadPasswordCommand, readSecret} from './secrets.ts'
import {POSTGRES_PORT, SERVICE_PURPOSE, type ServiceKind, connectionUri, serviceHost} from './connection.ts'

interface Bootstrap {
  initdb?: {database?: string; owner?: string; secret?: {name?: string}}
}

/** The application database and owner CNPG bootstraps, with the operator's defaults. */
export function bootstrapApp(cluster: CnpgCluster): {database: string; owner: string; secret: string} {
  const initdb = (cluster.spec.bootstrap as Bootstrap | undefined)?.initdb
  const database = initdb?.database ?? 'app'
  return {database, owner: initdb?.owner ?? database, secret: initdb?.secret?.name ?? `${cluster.metadata.name}-app`}
}

function enabledServices(cluster: CnpgCluster): ServiceKind[] {
  const managed = cluster.spec.managed as {services?: {disabledDefaultServices?: string[]}} | undefined
  const disabled = new Set(managed?.services?.disabledDefaultServices ?? [])
  return (['rw', 'ro', 'r'] as const).filter((kind) => !disabled.has(kind))
}

export const getConnectionInfo = defineTool({
  name: 'get_connection_info',
  title: 'Get connection information',
  description: [
    'How to connect: the -rw (primary), -ro (replicas) and -r Service hosts, port 5432, user, database, a URI without password and the Secret holding it. Without role_name: the bootstrap app user. The password only with include_password=true (admins only on a shared server).',
    'Example: {"cluster_name": "orders-db", "role_name": "app_reader"}.',
    'Errors: "cluster was not found"; "No DatabaseRole …"; 403.',
  ].join('\n'),
  get input() {
    return {
      cluster_name: clusterNameParam(),
      role_name: roleNameParam().optional().describe('Default: the application user.'),
      database_name: databaseNameParam().optional().describe('Default: the application database.'),
      include_password: z.boolean().default(false).describe('Also return the password; only if the user asked.'),
      namespace: namespaceParam(),
      format: formatParam(),
    }
  },
  get output() {
    return {
      cluster: z.string(),
      namespace: z.string(),
      username: z.string(),
      database: z.string(),
      port: z.number(),
      services: z.array(z.object({kind: z.string(), host: z.string(), purpose: z.string()})),
      connection_uri: z.string().describe('libpq URI for the read-write service, without the password'),
      secret_name: z.string().optional().describe('Secret with the username and password'),
      read_password_command: z.string().optional(),
      password: z.string().optional().describe('Only with include_password=true'),
      password_unavailable: z.string().optional().describe('Why the password was not returned although it was asked for'),
      notes: z.array(z.string()),
      truncated: truncationSchema(),
    }
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const cluster = await getCluster(kube, namespace, args.cluster_name, context.signal)
    const app = bootstrapApp(cluster)
    const notes: string[] = []

    let username = app.owner
    let secretName: string | undefined = app.secret
    if (args.role_name && args.role_name !== app.owner) {
      const role = await findManagedObject<{plural: 'databaseroles'; item: DatabaseRole}>(kube, 'databaseroles', namespace, args.cluster_name, args.role_name, context.signal)
      const legacy = (cluster.spec.managed?.roles ?? []).find((r) => r.name === args.role_name) as {passwordSecret?: {name?: string}} | undefined
      if (role) {
        secretName = passwordSecretOf(role)
        if (!secretName) notes.push(`Role ${args.role_name} has no password (disable_password); it logs in another way, e.g. a client certificate${role.spec.clientCertificate ? ` from Secret ${role.metadata.name}-client-cert` : ''}.`)
        if (role.spec.login === false) notes.push(`Role ${args.role_name} has login=false: it cannot connect until update_postgres_role sets login=true.`)
      } else if (legacy) {
        secretName = legacy.passwordSecret?.name
      } else {
        throw new ToolError(`No DatabaseRole for role "${args.role_name}" of cluster ${args.cluster_name} was found in namespace ${namespace}. list_postgres_roles shows the roles; omit role_name for the application user "${app.owner}".`)
      }
      username = args.role_name
    }

    const databaseName = args.database_name ?? app.database
    if (args.database_name && args.database_name !== app.database) {
      const database = await findManagedObject<{plural: 'databases'; item: Database}>(kube, 'databases', namespace, args.cluster_name, args.database_name, context.signal)
      if (!database) notes.push(`Database "${args.database_name}" is not a Database object of this cluster (list_postgres_databases); it may exist only if created directly in PostgreSQL.`)
    }

    const services = enabledServices(cluster).map((kind) => ({kind, host: serviceHost(args.cluster_name, namespace, kind), purpose: SERVICE_PURPOSE[kind]}))
    if (services.length < 3) notes.push('Some default Services are disabled in the Cluster (spec.managed.services.disabledDefaultServices).')
    const primaryHost = services.find((s) => s.kind === 'rw')?.host ?? serviceHost(args.cluster_name, namespace, 'rw')

    let password: string | undefined
    let passwordUnavailable: string | undefined
    // A shared HTTP server reads Secrets with its own service account unless it impersonates the
    // caller; then only administrators may have kmcp hand out passwords.
    const readsAsItself = context.identity.transport === 'http' && !context.identity.kubernetes
    if (args.include_password) {
      if (!secretName) passwordUnavailable = 'the role has no password Secret'
      else if (readsAsItself && !context.identity.isAdmin) {
        passwordUnavailable = 'this shared kmcp server reads Secrets with its own service account (no --impersonate), so it returns passwords only to administrators; read it with your own Kubernetes credentials using the command above'
      } else {
        try {
          const secret = await readSecret(kube, namespace, secretName, context.signal)
          const encoded = secret?.data?.password
          if (!secret) passwordUnavailable = `Secret ${secretName} does not exist (yet)`
          else if (!encoded) passwordUnavailable = `Secret ${secretName} has no "password" key`
          else password = Buffer.from(encoded, 'base64').toString('utf8')
        } catch (error) {
          passwordUnavailable = `kmcp may not read Secret ${secretName} (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`
        }
      }
    }

    const structured = {
      cluster: args.cluster_name,
      namespace,
      username,
      database: databaseName,
      port: POSTGRES_PORT,
      services,
      connection_uri: connectionUri(primaryHost, username, databaseName),
      secret_name: secretName,
      read_password_command: secretName ? kubectlReadPasswordCommand(namespace, secretName) : undefined,
      password,
      password_unavailable: passwordUnavailable,
      notes,
    }
    return {
      structured,
      render: (s: typeof structured) => {
        const lines = [`**Connection info: ${s.namespace}/${s.cluster}**`, `- User: ${s.username}`, `- Database: ${s.database}`, `- Port: ${s.port}`, 'Services (inside the Kubernetes cluster):']
        for (const service of s.services) lines.push(`- ${service.host}:${s.port} — ${service.purpose}`)
        lines.push(`Connection URI (password not included): ${s.connection_uri}`)
        if (s.secret_name) lines.push(`Password Secret: ${s.secret_name}`, `Read the password with: ${s.read_password_command}`)
        if (s.password !== undefined) lines.push(`Password (include_password=true): ${s.password}`)
        if (s.password_unavailable) lines.push(`Password not returned: ${s.password_unavailable}.`)
        lines.push(`From outside the cluster: kubectl port-forward -n ${s.namespace} svc/${s.cluster}-rw ${s.port}:${s.port}, then connect to localhost:${s.port}.`)
        for (const note of s.notes) lines.push(`Note: ${note}`)
        return lines.join('\n')
      },
    }
  },
})
