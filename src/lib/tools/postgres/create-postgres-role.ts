import {z} from 'zod'
import {defineTool} from '../registry.ts'
import {ToolError, kubeStep} from '../errors.ts'
import {serverDryRun} from '../dry-run.ts'
import {CNPG_API_VERSION, cnpgPath} from '../cnpg/api.ts'
import {namespaceParam} from '../validation.ts'
import {checkDerivedName, objectNameFor, roleSecretName} from './names.ts'
import {type DatabaseRole, findManagedObject, getCluster, legacyManagedRoles} from './objects.ts'
import {ROLE_FLAG_DESCRIPTIONS, clusterNameParam, commentParam, connectionLimitParam, inRolesParam, reclaimPolicyParam, roleNameParam, validUntilParam} from './params.ts'
import {type RoleSummary, renderRoleAttributes, summarizeRole} from './role-summary.ts'
import {createRoleSecret, deleteKmcpSecret, foreignSecretProblem, generatePassword, isKmcpRoleSecret, kubectlReadPasswordCommand, readSecret} from './secrets.ts'
import {connectionUri, serviceHost} from './connection.ts'
import {bootstrapApp} from './get-connection-info.ts'

/** What create_postgres_role does about the password Secret. */
type SecretPlan = 'create' | 'reuse-kmcp' | 'use-existing' | 'none'

interface CreateRoleResult extends Record<string, unknown> {
  status: 'created'
  cluster: string
  namespace: string
  crd_name: string
  role_name: string
  password_secret?: string
  secret: SecretPlan
  attributes: RoleSummary
  read_password_command?: string
  connection_uri?: string
  client_certificate_secret?: string
}

const SECRET_PLAN_TEXT: Record<SecretPlan, string> = {
  create: 'a new kubernetes.io/basic-auth Secret with a generated password (created by kmcp)',
  'reuse-kmcp': 'an existing Secret kmcp created earlier, with its password unchanged',
  'use-existing': 'an existing basic-auth Secret not created by kmcp, used as it is (kmcp will never change or delete it)',
  none: 'no password (disable_password=true: the password is NULL)',
}

export const createPostgresRole = defineTool({
  name: 'create_postgres_role',
  title: 'Create a PostgreSQL role',
  description: [
    'Create a PostgreSQL role (a DatabaseRole "<cluster>-<role>"). kmcp generates the password into Secret "cnpg-<cluster>-user-<role>" and never shows it (get_connection_info include_password=true reads it). An existing Secret not made by kmcp is used only if it fits, never overwritten.',
    'Example: {"cluster_name": "orders-db", "role_name": "app_reader", "in_roles": ["pg_read_all_data"]}.',
    'Errors: "cluster was not found"; "already exists"; 422 for reserved names (postgres, streaming_replica, pg_*, cnpg_*); 403.',
  ].join('\n'),
  get input() {
    return {
      cluster_name: clusterNameParam(),
      role_name: roleNameParam(),
      login: z.boolean().default(true).describe(ROLE_FLAG_DESCRIPTIONS.login),
      superuser: z.boolean().default(false).describe(ROLE_FLAG_DESCRIPTIONS.superuser),
      inherit: z.boolean().default(true).describe(ROLE_FLAG_DESCRIPTIONS.inherit),
      createdb: z.boolean().default(false).describe(ROLE_FLAG_DESCRIPTIONS.createdb),
      createrole: z.boolean().default(false).describe(ROLE_FLAG_DESCRIPTIONS.createrole),
      replication: z.boolean().default(false).describe(ROLE_FLAG_DESCRIPTIONS.replication),
      bypassrls: z.boolean().default(false).describe(ROLE_FLAG_DESCRIPTIONS.bypassrls),
      in_roles: inRolesParam().optional(),
      connection_limit: connectionLimitParam().optional(),
      valid_until: validUntilParam().optional(),
      comment: commentParam().optional(),
      disable_password: z.boolean().default(false).describe('No password and no Secret (e.g. certificate-only login).'),
      client_certificate: z.boolean().default(false).describe('Issue a TLS client certificate into Secret "<cluster>-<role>-client-cert".'),
      reclaim_policy: reclaimPolicyParam().default('retain').describe('"delete": deleting the DatabaseRole drops the role.'),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false},
  handler: async (args, context) => {
    if (args.client_certificate && !args.login) throw new ToolError('client_certificate=true requires login=true: a certificate is only useful to a role that may log in. Set login=true or drop client_certificate.')
    const namespace = await context.namespace(args.namespace)
    const crdName = objectNameFor(args.cluster_name, args.role_name)
    checkDerivedName('DatabaseRole', crdName)
    const secretName = args.disable_password ? undefined : roleSecretName(args.cluster_name, args.role_name)
    if (secretName) checkDerivedName('Secret', secretName)

    const kube = await context.kube()
    const cluster = await getCluster(kube, namespace, args.cluster_name, context.signal)
    const existing = await findManagedObject<{plural: 'databaseroles'; item: DatabaseRole}>(kube, 'databaseroles', namespace, args.cluster_name, args.role_name, context.signal)
    if (existing) throw new ToolError(`Role "${args.role_name}" already exists for cluster ${namespace}/${args.cluster_name} (DatabaseRole "${existing.metadata.name}"). Change it with update_postgres_role, or inspect it with get_postgres_role_status.`)
    if (legacyManagedRoles(cluster).includes(args.role_name)) {
      throw new ToolError(`Role "${args.role_name}" is already declared in the Cluster's spec.managed.roles (the legacy way). Two declarations of one role would fight; remove it from spec.managed.roles first if you want a DatabaseRole for it.`)
    }

    let plan: SecretPlan = 'none'
    if (secretName) {
      const secret = await readSecret(kube, namespace, secretName, context.signal)
      if (!secret) plan = 'create'
      else if (isKmcpRoleSecret(secret)) {
        // "a_b" and "a-b" share a Secret name; a kmcp Secret made for the other role is not reused.
        if (foreignSecretProblem(secret, args.role_name)) throw new ToolError(`Secret ${namespace}/${secretName} was created by kmcp for another role of the same name pattern ("_" and "-" map to the same Secret name). Delete that role first, or choose a different role name.`)
        plan = 'reuse-kmcp'
      }
      else {
        const problem = foreignSecretProblem(secret, args.role_name)
        if (problem) throw new ToolError(`A Secret named ${namespace}/${secretName} already exists and kmcp did not create it, and it cannot serve as this role's password Secret: ${problem}. kmcp will not overwrite it. Delete or rename it yourself, or create the role with disable_password=true.`)
        plan = 'use-existing'
      }
    }

    const manifest: DatabaseRole = {
      apiVersion: CNPG_API_VERSION,
      kind: 'DatabaseRole',
      metadata: {name: crdName, namespace, labels: {'cnpg.io/cluster': args.cluster_name, 'cnpg.io/role': args.role_name, 'app.kubernetes.io/managed-by': 'kmcp'}},
      spec: {
        name: args.role_name,
        cluster: {name: args.cluster_name},
        ensure: 'present',
        databaseRoleReclaimPolicy: args.reclaim_policy,
        login: args.login,
        superuser: args.superuser,
        inherit: args.inherit,
        createdb: args.createdb,
        createrole: args.createrole,
        replication: args.replication,
        bypassrls: args.bypassrls,
        ...(args.in_roles?.length ? {inRoles: args.in_roles} : {}),
        ...(args.connection_limit !== undefined ? {connectionLimit: args.connection_limit} : {}),
        ...(args.valid_until ? {validUntil: args.valid_until} : {}),
        ...(args.comment ? {comment: args.comment} : {}),
        ...(secretName ? {passwordSecret: {name: secretName}} : {disablePassword: true}),
        ...(args.client_certificate ? {clientCertificate: {enabled: true}} : {}),
      },
    }
    const createRequest = {method: 'POST' as const, path: cnpgPath('databaseroles', namespace), body: manifest, signal: context.signal}
    // The API server checks the role (schema, CEL rules, RBAC) before any Secret is written.
    const preview = await serverDryRun<DatabaseRole>(kube, createRequest, `creating DatabaseRole ${namespace}/${crdName}`)
    const target = `${namespace}/${crdName}`
    const summary = summarizeRole(preview)
    const base = {cluster: args.cluster_name, namespace, crd_name: crdName, role_name: args.role_name, password_secret: secretName, secret: plan, attributes: summary}

    const notes = [`Password: ${SECRET_PLAN_TEXT[plan]}${secretName ? ` — Secret ${secretName}` : ''}.`]
    if (plan === 'create') notes.push('The Secret is created first and removed again if the DatabaseRole cannot be created.')
    notes.push(`Reclaim policy "${args.reclaim_policy}": deleting the DatabaseRole later ${args.reclaim_policy === 'delete' ? 'drops the role in PostgreSQL' : 'keeps the role in PostgreSQL'}.`)
    context.explain([`Create role "${args.role_name}" in cluster ${namespace}/${args.cluster_name} (DatabaseRole ${crdName}).`, ...notes].join('\n'))

    let createdSecretUid: string | undefined
    if (plan === 'create' && secretName) {
      const secret = await createRoleSecret(kube, {namespace, name: secretName, cluster: args.cluster_name, role: args.role_name}, generatePassword(), context.signal)
      createdSecretUid = secret.metadata.uid
    }
    let created: DatabaseRole
    try {
      created = await kubeStep(`creating DatabaseRole ${target}`, () => kube.request<DatabaseRole>(createRequest))
    } catch (error) {
      if (createdSecretUid && secretName) {
        // Undo only what this call made; signal-independent so a cancelled call still cleans up.
        const undone = await deleteKmcpSecret(kube, namespace, secretName, AbortSignal.timeout(10_000), createdSecretUid).catch(() => 'failed')
        const note = undone === 'deleted' || undone === 'absent' ? `The Secret ${secretName} kmcp had just created was removed again; nothing was left behind.` : `The Secret ${secretName} kmcp had just created could not be removed; delete it with: kubectl delete secret ${secretName} -n ${namespace}`
        throw new ToolError(`${(error as Error).message}\n${note}`)
      }
      throw error
    }

    const structured: CreateRoleResult = {
      status: 'created',
      ...base,
      attributes: summarizeRole(created),
      read_password_command: secretName ? kubectlReadPasswordCommand(namespace, secretName) : undefined,
      // The cluster's application database: the one a new role most likely connects to.
      connection_uri: connectionUri(serviceHost(args.cluster_name, namespace, 'rw'), args.role_name, bootstrapApp(cluster).database),
      client_certificate_secret: args.client_certificate ? `${crdName}-client-cert` : undefined,
    }
    return {
      structured,
      target,
      render: (s: CreateRoleResult) => {
        const lines = [
          `Created role "${s.role_name}" in cluster ${s.namespace}/${s.cluster} (DatabaseRole ${s.crd_name}). The operator creates it in PostgreSQL, usually within about 30 s (with a password, its first attempt may be refused until the operator has granted the instances access to the Secret, then it retries); check with get_postgres_role_status.`,
          '',
          'Role Attributes:',
          ...renderRoleAttributes(s.attributes),
          `- Reclaim Policy: ${s.attributes.reclaim_policy} (${s.attributes.reclaim_policy === 'delete' ? 'deleting the DatabaseRole drops the role' : 'deleting the DatabaseRole keeps the role in PostgreSQL'})`,
          '',
          `Password: ${SECRET_PLAN_TEXT[s.secret]}${s.password_secret ? ` — Secret ${s.password_secret}` : ''}.`,
        ]
        if (s.read_password_command) lines.push(`Read it with: ${s.read_password_command}`)
        lines.push(`Connect (password from the Secret): ${s.connection_uri}`)
        if (s.client_certificate_secret) lines.push(`Client certificate: the operator writes it to Secret ${s.client_certificate_secret}.`)
        return lines.join('\n')
      },
    }
  },
})
