import {z} from 'zod'
import {kubeName, rfc3339Problem} from '../validation.ts'
import {postgresName} from './names.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from '../common-parameters.ts'
import {once} from '../lazy.ts'

/** Parameters the role, database and connection tools share, described once. */
export const clusterNameParam = once(() => kubeName('cluster_name', {maxLength: 50, description: SHARED_PARAMETER_DESCRIPTIONS.cluster}))

export const roleNameParam = once(() => postgresName('role_name', 'PostgreSQL role name, e.g. "app_reader".'))

export const databaseNameParam = once(() => postgresName('database_name', 'PostgreSQL database name, e.g. "orders".'))

export const reclaimPolicyParam = once(() => z.enum(['retain', 'delete']))

/** What each role attribute means, shared by create_postgres_role and update_postgres_role. */
export const ROLE_FLAG_DESCRIPTIONS = {
  login: 'LOGIN: may log in.',
  superuser: 'SUPERUSER: bypasses every check; only if really needed.',
  inherit: 'INHERIT: uses the privileges of its roles.',
  createdb: 'CREATEDB.',
  createrole: 'CREATEROLE.',
  replication: 'REPLICATION: highly privileged.',
  bypassrls: 'BYPASSRLS: ignores row-level security.',
} as const

export const inRolesParam = once(() => z
  .array(postgresName('in_roles entry', 'An existing role'))
  .max(100, 'in_roles may list at most 100 roles')
  .describe('Roles to be a member of, e.g. ["pg_read_all_data"].'))

export const connectionLimitParam = once(() => z
  .number()
  .int('connection_limit must be a whole number')
  .min(-1, 'connection_limit must be -1 (unlimited) or a number of connections')
  .max(100_000, 'connection_limit must be at most 100000')
  .describe('Maximum connections; -1: unlimited.'))

export const validUntilParam = once(() => z
  .string()
  .max(64)
  .superRefine((value, ctx) => {
    const problem = rfc3339Problem(value)
    if (problem) ctx.addIssue({code: 'custom', message: `valid_until "${value.slice(0, 64)}" ${problem}`})
  })
  .describe('Password expiry (RFC 3339).'))

export const commentParam = once(() => z.string().max(1024, 'comment must be at most 1024 characters').describe('COMMENT ON ROLE.'))
