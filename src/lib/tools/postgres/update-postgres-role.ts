import {z} from 'zod'
import type {KubeClient} from '../../k8s/client.ts'
import {KubeApiError} from '../../k8s/errors.ts'
import {defineTool} from '../registry.ts'
import {ToolError, kubeStep} from '../errors.ts'
import {FIELD_MANAGER, serverDryRun} from '../dry-run.ts'
import {cnpgPath} from '../cnpg/api.ts'
import {namespaceParam} from '../validation.ts'
import {checkDerivedName, roleSecretName} from './names.ts'
import type {DatabaseRole} from './objects.ts'
import {ROLE_FLAG_DESCRIPTIONS, clusterNameParam, commentParam, connectionLimitParam, inRolesParam, reclaimPolicyParam, roleNameParam, validUntilParam} from './params.ts'
import {type RoleSummary, renderRoleAttributes, summarizeRole} from './role-summary.ts'
import {requireRole} from './get-postgres-role-status.ts'
import {type Secret, createRoleSecret, deleteKmcpSecret, foreignSecretRefusal, generatePassword, isKmcpRoleSecret, kubectlReadPasswordCommand, readSecret, replaceRolePassword, restoreSecretData} from './secrets.ts'
import {requireAdminFor} from '../privileged-fields.ts'

const FLAGS = ['login', 'superuser', 'inherit', 'createdb', 'createrole', 'replication', 'bypassrls'] as const

/** Built on first use (see policy/mount.ts): the executable starts without it. */
const input = () => ({
  cluster_name: clusterNameParam(),
  role_name: roleNameParam(),
  login: z.boolean().optional().describe(ROLE_FLAG_DESCRIPTIONS.login),
  superuser: z.boolean().optional().describe(ROLE_FLAG_DESCRIPTIONS.superuser),
  inherit: z.boolean().optional().describe(ROLE_FLAG_DESCRIPTIONS.inherit),
  createdb: z.boolean().optional().describe(ROLE_FLAG_DESCRIPTIONS.createdb),
  createrole: z.boolean().optional().describe(ROLE_FLAG_DESCRIPTIONS.createrole),
  replication: z.boolean().optional().describe(ROLE_FLAG_DESCRIPTIONS.replication),
  bypassrls: z.boolean().optional().describe(ROLE_FLAG_DESCRIPTIONS.bypassrls),
  in_roles: inRolesParam().optional().describe('The complete new list of memberships ([] removes all).'),
  connection_limit: connectionLimitParam().optional(),
  valid_until: validUntilParam().optional(),
  comment: commentParam().optional(),
  disable_password: z.boolean().optional().describe('true: password NULL; false: from the Secret again.'),
  client_certificate: z.boolean().optional().describe('Issue a TLS client certificate, or stop.'),
  reclaim_policy: reclaimPolicyParam().optional().describe('What deleting the DatabaseRole does to the role.'),
  password: z.string().min(8, 'password must be at least 8 characters').max(1024, 'password must be at most 1024 characters').optional().describe('New password (prefer generate_password).'),
  generate_password: z.boolean().default(false).describe('Store a new random password (never shown).'),
  namespace: namespaceParam(),
})

type Args = z.output<z.ZodObject<ReturnType<typeof input>>>

interface UpdatePlan {
  /** Merge patch of spec; null removes a field. */
  spec: Record<string, unknown>
  changes: string[]
  /** Secret to write the new password into, when one is set. */
  secretName?: string
}

const show = (value: unknown) => (value === undefined || value === null ? 'unset' : Array.isArray(value) ? `[${value.join(', ')}]` : String(value))

/** Compares the arguments with the role as it is now; only real differences become changes. */
function planUpdate(role: DatabaseRole, args: Args): UpdatePlan {
  const current = summarizeRole(role)
  const spec: Record<string, unknown> = {}
  const changes: string[] = []
  const change = (label: string, field: string, before: unknown, after: unknown) => {
    if (JSON.stringify(before) === JSON.stringify(after)) return
    spec[field] = after
    changes.push(`${label}: ${show(before)} -> ${show(after)}`)
  }
  for (const flag of FLAGS) if (args[flag] !== undefined) change(flag, flag, current[flag], args[flag])
  if (args.in_roles !== undefined) change('in_roles', 'inRoles', current.in_roles, args.in_roles)
  if (args.connection_limit !== undefined) change('connection_limit', 'connectionLimit', current.connection_limit, args.connection_limit)
  if (args.valid_until !== undefined) change('valid_until', 'validUntil', current.valid_until, args.valid_until)
  if (args.comment !== undefined) change('comment', 'comment', current.comment, args.comment)
  if (args.reclaim_policy !== undefined) change('reclaim_policy', 'databaseRoleReclaimPolicy', current.reclaim_policy, args.reclaim_policy)
  if (args.client_certificate !== undefined && args.client_certificate !== current.client_certificate) {
    spec.clientCertificate = {enabled: args.client_certificate}
    changes.push(`client_certificate: ${current.client_certificate} -> ${args.client_certificate}`)
  }

  const effectiveLogin = args.login ?? current.login
  const certificateWanted = args.client_certificate ?? current.client_certificate
  if (certificateWanted && !effectiveLogin) throw new ToolError('A client certificate requires login: keep login=true, or set client_certificate=false as well.')

  const newPassword = args.password !== undefined || args.generate_password
  if (args.password !== undefined && args.generate_password) throw new ToolError('Give either password or generate_password=true, not both.')
  if (newPassword && args.disable_password === true) throw new ToolError('A new password and disable_password=true contradict each other: choose one.')
  let secretName: string | undefined
  if (args.disable_password === true && !current.disable_password) {
    spec.disablePassword = true
    spec.passwordSecret = null
    changes.push(`password: Secret ${current.password_secret ?? 'none'} -> disabled (NULL); the Secret itself is left in place`)
  }
  const reenable = args.disable_password === false && current.disable_password
  if (newPassword || reenable) {
    secretName = role.spec.passwordSecret?.name ?? roleSecretName(role.spec.cluster.name, role.spec.name)
    checkDerivedName('Secret', secretName)
    if (current.disable_password) {
      spec.disablePassword = null
      changes.push('disable_password: true -> false')
    }
    if (!role.spec.passwordSecret) {
      spec.passwordSecret = {name: secretName}
      changes.push(`password_secret: unset -> ${secretName}`)
    }
    if (newPassword) changes.push(`password: replaced in Secret ${secretName} (not shown)`)
  }
  return {spec, changes, secretName}
}

/** Writes the password into the role's Secret (creating it when missing); returns how to undo it. */
async function writePassword(kube: KubeClient, role: DatabaseRole, namespace: string, secretName: string, password: string, signal: AbortSignal): Promise<() => Promise<void>> {
  const existing = await readSecret(kube, namespace, secretName, signal)
  if (existing && !isKmcpRoleSecret(existing)) throw new ToolError(foreignSecretRefusal(namespace, secretName))
  if (!existing) {
    const created = await createRoleSecret(kube, {namespace, name: secretName, cluster: role.spec.cluster.name, role: role.spec.name}, password, signal)
    return async () => {
      await deleteKmcpSecret(kube, namespace, secretName, AbortSignal.timeout(10_000), created.metadata.uid)
    }
  }
  const {before} = await replaceRolePassword(kube, namespace, secretName, role.spec.name, password, signal)
  return async () => {
    await restoreSecretData(kube, before as Secret, AbortSignal.timeout(10_000))
  }
}

interface UpdateRoleResult extends Record<string, unknown> {
  status: 'updated' | 'no_change'
  cluster: string
  namespace: string
  crd_name: string
  role_name: string
  changes: string[]
  attributes: RoleSummary
  password_secret?: string
  read_password_command?: string
}

export const updatePostgresRole = defineTool({
  name: 'update_postgres_role',
  title: 'Update a PostgreSQL role',
  description: [
    'Change a managed role: only the arguments given change (in_roles replaces the list); the result shows "old -> new". A password change locks out old clients (confirm_password_change). kmcp never overwrites a Secret it did not create.',
    'Example: {"cluster_name": "orders-db", "role_name": "app_reader", "connection_limit": 20}.',
    'Errors: "No DatabaseRole … was found"; 422; 409 after repeated conflicts (retry); 403.',
  ].join('\n'),
  get input() {
    return input()
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_password_change', when: 'to change or disable the role\'s password (other changes need no confirmation)', message: (args) => `Change the password of role ${String(args.role_name)}.`},
  handler: async (args, context) => {
    requireAdminFor(context.identity, [
      {name: 'password', given: args.password !== undefined, why: 'a password of your choosing lets you sign in as this role (generate_password=true is allowed: nobody sees it)'},
      {name: 'superuser', given: args.superuser === true, why: 'a superuser can read and change every database and run programs on the server'},
      {name: 'createrole', given: args.createrole === true, why: 'a role that creates roles can grant itself other roles\' rights'},
      {name: 'replication', given: args.replication === true, why: 'a replication role can stream a copy of every database'},
      {name: 'bypassrls', given: args.bypassrls === true, why: 'it bypasses every row-level security policy'},
    ])
    const namespace = await context.namespace(args.namespace)
    const kube = await context.kube()
    const password = args.password ?? (args.generate_password ? generatePassword() : undefined)

    for (let attempt = 1; ; attempt++) {
      const role = await requireRole(kube, namespace, args.cluster_name, args.role_name, context.signal)
      const target = `${namespace}/${role.metadata.name}`
      const plan = planUpdate(role, args)
      const base = {cluster: args.cluster_name, namespace, crd_name: role.metadata.name, role_name: role.spec.name, changes: plan.changes}
      const render = (s: UpdateRoleResult) => renderUpdate(s)
      if (plan.changes.length === 0) {
        const structured: UpdateRoleResult = {status: 'no_change', ...base, attributes: summarizeRole(role)}
        return {structured, target, render}
      }
      const needsSecret = plan.secretName !== undefined && (password !== undefined || !(await readSecret(kube, namespace, plan.secretName, context.signal)))
      const patch = {method: 'PATCH' as const, path: cnpgPath('databaseroles', namespace, role.metadata.name), contentType: 'application/merge-patch+json' as const, signal: context.signal}
      const hasSpecChange = Object.keys(plan.spec).length > 0
      // Optimistic concurrency: the patch applies only to the version the changes were computed from.
      const body = {metadata: {resourceVersion: role.metadata.resourceVersion}, spec: plan.spec}
      // The API server checks the change before the Secret is written.
      // The operator writes the DatabaseRole too (status, finalizers): a version conflict here or on
      // the real patch below means "read it again", not a failure.
      if (hasSpecChange) {
        try {
          await serverDryRun<DatabaseRole>(kube, {...patch, body}, `updating DatabaseRole ${target}`)
        } catch (error) {
          if (isConflict(error) && attempt < 4) continue
          throw error
        }
      }

      const rotates = password !== undefined || args.disable_password === true
      // A new or disabled password locks out every client that uses the old one: that is what needs confirming.
      context.explain([`Update role "${role.spec.name}" of cluster ${namespace}/${args.cluster_name} (DatabaseRole ${role.metadata.name}):`, ...plan.changes.map((c) => `- ${c}`), ...(rotates ? ['Clients still using the current password will fail to log in.'] : [])].join('\n'), {destructive: rotates})

      const undoSecret = needsSecret && plan.secretName ? await writePassword(kube, role, namespace, plan.secretName, password ?? generatePassword(), context.signal) : undefined
      let updated = role
      if (hasSpecChange) {
        try {
          updated = await kube.request<DatabaseRole>({...patch, body, query: {fieldManager: FIELD_MANAGER}})
        } catch (error) {
          await undoSecret?.().catch(() => undefined)
          if (isConflict(error) && attempt < 4) continue
          const undoNote = undoSecret ? '\nThe password Secret was put back as it was before this call.' : ''
          const message = await kubeStep(`updating DatabaseRole ${target}`, () => Promise.reject(error)).catch((e: Error) => e.message)
          throw new ToolError(`${message}${undoNote}`)
        }
      }
      const structured: UpdateRoleResult = {
        status: 'updated',
        ...base,
        attributes: summarizeRole(updated),
        password_secret: plan.secretName,
        read_password_command: password !== undefined && plan.secretName ? kubectlReadPasswordCommand(namespace, plan.secretName) : undefined,
      }
      return {structured, target, render}
    }
  },
})

/** A 409 from the API server, directly or as the cause of a tool error (kubeStep wraps errors). */
function isConflict(error: unknown): boolean {
  if (error instanceof KubeApiError) return error.status === 409
  return error instanceof Error && error.cause !== undefined && isConflict(error.cause)
}

function renderUpdate(s: UpdateRoleResult): string {
  if (s.status === 'no_change') {
    return `No updates specified for role "${s.role_name}" of cluster ${s.namespace}/${s.cluster}: every given value already matches. Give at least one attribute to change.`
  }
  const lines = [`Role "${s.role_name}" of cluster ${s.namespace}/${s.cluster} updated (DatabaseRole ${s.crd_name}). The operator applies it in PostgreSQL; check with get_postgres_role_status.`, '', 'Changes:', ...s.changes.map((c) => `- ${c}`), '', 'Role Attributes now:', ...renderRoleAttributes(s.attributes)]
  if (s.read_password_command) lines.push('', `Read the new password with: ${s.read_password_command}`)
  return lines.join('\n')
}
