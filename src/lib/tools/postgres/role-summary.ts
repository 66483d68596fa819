import {z} from 'zod'
import {conditionSchema, renderConditions, summarizeConditions} from '../cnpg/api.ts'
import type {DatabaseRole} from './objects.ts'
import {roleSecretName} from './names.ts'
import {once} from '../lazy.ts'

/** One role as every role tool reports it (same names in list, status and create results). */
export const roleSchema = once(() => z.object({
  crd_name: z.string().describe('Name of the DatabaseRole object'),
  name: z.string().describe('Role name inside PostgreSQL'),
  ensure: z.string(),
  reclaim_policy: z.string().describe('What happens to the PostgreSQL role when the DatabaseRole is deleted: "retain" or "delete"'),
  applied: z.boolean().optional().describe('status.applied as the operator reports it; absent until it reconciled the role'),
  login: z.boolean(),
  superuser: z.boolean(),
  inherit: z.boolean(),
  createdb: z.boolean(),
  createrole: z.boolean(),
  replication: z.boolean(),
  bypassrls: z.boolean(),
  connection_limit: z.number(),
  valid_until: z.string().optional(),
  comment: z.string().optional(),
  in_roles: z.array(z.string()),
  disable_password: z.boolean(),
  client_certificate: z.boolean(),
  password_secret: z.string().optional().describe('Secret holding the password (never the password itself)'),
}))

export type RoleSummary = z.infer<ReturnType<typeof roleSchema>>

export const roleStatusSchema = once(() => z.object({
  applied: z.boolean().optional(),
  observed_generation: z.number().optional(),
  message: z.string().optional(),
  client_certificate_expiration: z.string().optional(),
  client_certificate_message: z.string().optional(),
  conditions: z.array(conditionSchema()),
}))

export function summarizeRole(role: DatabaseRole): RoleSummary {
  const spec = role.spec
  return {
    crd_name: role.metadata.name,
    name: spec.name,
    ensure: spec.ensure ?? 'present',
    reclaim_policy: spec.databaseRoleReclaimPolicy ?? 'retain',
    applied: role.status?.applied ?? undefined,
    // Unset flags mean what CNPG and PostgreSQL default to: inherit on, everything else off.
    login: spec.login ?? false,
    superuser: spec.superuser ?? false,
    inherit: spec.inherit ?? true,
    createdb: spec.createdb ?? false,
    createrole: spec.createrole ?? false,
    replication: spec.replication ?? false,
    bypassrls: spec.bypassrls ?? false,
    connection_limit: spec.connectionLimit ?? -1,
    valid_until: spec.validUntil,
    comment: spec.comment,
    in_roles: spec.inRoles ?? [],
    disable_password: spec.disablePassword ?? false,
    client_certificate: spec.clientCertificate ? spec.clientCertificate.enabled !== false : false,
    password_secret: spec.passwordSecret?.name,
  }
}

export function summarizeRoleStatus(role: DatabaseRole): z.infer<ReturnType<typeof roleStatusSchema>> {
  const status = role.status ?? {}
  return {
    applied: status.applied ?? undefined,
    observed_generation: status.observedGeneration,
    message: status.message || undefined,
    client_certificate_expiration: status.clientCertificate?.expiration,
    client_certificate_message: status.clientCertificate?.message,
    conditions: summarizeConditions(status.conditions),
  }
}

/** The password Secret a role uses or would use: its own reference, else the naming convention. */
export function passwordSecretOf(role: DatabaseRole): string | undefined {
  if (role.spec.disablePassword) return undefined
  return role.spec.passwordSecret?.name ?? roleSecretName(role.spec.cluster.name, role.spec.name)
}

const yes = (value: boolean) => (value ? 'True' : 'False')

/** Attribute lines in the reference's wording ("- Login: True", "- Member of: …"). */
export function renderRoleAttributes(role: RoleSummary): string[] {
  const lines = [
    `- Login: ${yes(role.login)}`,
    `- Superuser: ${yes(role.superuser)}`,
    `- Inherit: ${yes(role.inherit)}`,
    `- Create DB: ${yes(role.createdb)}`,
    `- Create Role: ${yes(role.createrole)}`,
    `- Replication: ${yes(role.replication)}`,
    `- Bypass RLS: ${yes(role.bypassrls)}`,
    `- Connection Limit: ${role.connection_limit}${role.connection_limit === -1 ? ' (unlimited)' : ''}`,
  ]
  if (role.valid_until) lines.push(`- Valid Until: ${role.valid_until}`)
  if (role.comment) lines.push(`- Comment: ${role.comment}`)
  if (role.in_roles.length > 0) lines.push(`- Member of: ${role.in_roles.join(', ')}`)
  lines.push(`- Password Secret: ${role.disable_password ? 'disabled (password set to NULL)' : (role.password_secret ?? 'none (password left unmanaged)')}`)
  lines.push(`- Client Certificate: ${role.client_certificate ? `enabled (Secret ${role.crd_name}-client-cert)` : 'disabled'}`)
  return lines
}

export function renderRoleStatus(status: z.infer<ReturnType<typeof roleStatusSchema>>): string[] {
  const lines = ['Operator Status:']
  if (status.applied === undefined && status.observed_generation === undefined && !status.message && status.conditions.length === 0) {
    lines.push('- not reported by the operator yet (it has not reconciled this role)')
    return lines
  }
  lines.push(`- Applied: ${status.applied === undefined ? 'unknown' : yes(status.applied)}`)
  if (status.observed_generation !== undefined) lines.push(`- Observed Generation: ${status.observed_generation}`)
  if (status.message) lines.push(`- Message: ${status.message}`)
  if (status.client_certificate_expiration) lines.push(`- Client Certificate Expires: ${status.client_certificate_expiration}`)
  if (status.client_certificate_message) lines.push(`- Client Certificate: ${status.client_certificate_message}`)
  if (status.conditions.length > 0) lines.push(...renderConditions(status.conditions))
  return lines
}
