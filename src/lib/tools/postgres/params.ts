import {z} from 'zod'
import {kubeName, rfc3339Problem} from '../validation.ts'
import {postgresName} from './names.ts'

/** Parameters the role, database and connection tools share, described once. */
export const clusterNameParam = kubeName('cluster_name', {maxLength: 50, description: 'Name of the CNPG Cluster the role or database belongs to, e.g. "orders-db" (list_postgres_clusters shows them).'})

export const roleNameParam = postgresName('role_name', 'PostgreSQL role name, e.g. "app_reader" (lower-case letters, digits, "_" and "-"). Its DatabaseRole object is named "<cluster>-<role>" ("_" becomes "-").')

export const databaseNameParam = postgresName('database_name', 'PostgreSQL database name, e.g. "orders" (lower-case letters, digits, "_" and "-"). Its Database object is named "<cluster>-<database>" ("_" becomes "-").')

export const reclaimPolicyParam = z.enum(['retain', 'delete'])

/** What each role attribute means, shared by create_postgres_role and update_postgres_role. */
export const ROLE_FLAG_DESCRIPTIONS = {
  login: 'LOGIN: the role may log in (a "user"). Roles without it only group privileges.',
  superuser: 'SUPERUSER: bypasses every permission check. Dangerous; use only when really needed.',
  inherit: 'INHERIT: the role uses the privileges of roles it is a member of.',
  createdb: 'CREATEDB: the role may create databases.',
  createrole: 'CREATEROLE: the role may create, alter and drop other roles.',
  replication: 'REPLICATION: the role may connect in replication mode and manage replication slots. Highly privileged.',
  bypassrls: 'BYPASSRLS: the role bypasses every row-level security policy.',
} as const

export const inRolesParam = z
  .array(postgresName('in_roles entry', 'An existing role to join, e.g. "pg_read_all_data"'))
  .max(100, 'in_roles may list at most 100 roles')
  .describe('Existing roles this role becomes a member of (GRANT), e.g. ["pg_read_all_data"].')

export const connectionLimitParam = z
  .number()
  .int('connection_limit must be a whole number')
  .min(-1, 'connection_limit must be -1 (unlimited) or a number of connections')
  .max(100_000, 'connection_limit must be at most 100000')
  .describe('Maximum concurrent connections of the role; -1 means unlimited.')

export const validUntilParam = z
  .string()
  .max(64)
  .superRefine((value, ctx) => {
    const problem = rfc3339Problem(value)
    if (problem) ctx.addIssue({code: 'custom', message: `valid_until "${value.slice(0, 64)}" ${problem}`})
  })
  .describe('When the role\'s password stops being valid, as an RFC 3339 date-time, e.g. "2027-01-01T00:00:00Z".')

export const commentParam = z.string().max(1024, 'comment must be at most 1024 characters').describe('COMMENT ON ROLE text.')
