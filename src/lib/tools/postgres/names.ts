import {z} from 'zod'
import {ToolError} from '../errors.ts'
import {rfc1123Problem} from '../validation.ts'

/**
 * Names of PostgreSQL roles and databases, and the Kubernetes object names kmcp derives from
 * them. PostgreSQL allows underscores (the reference's RFC 1123 check forbade them); Kubernetes
 * object names do not, so the derived names turn "_" into "-".
 */

// Lower case so that unquoted SQL refers to the same name; starts with a letter and ends with a
// letter or digit so that the name is also a valid label value (cnpg.io/role, cnpg.io/database).
const POSTGRES_NAME = /^[a-z]([a-z0-9_-]*[a-z0-9])?$/
const POSTGRES_NAME_MAX = 63 // NAMEDATALEN - 1

export function postgresNameProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty'
  if (value.length > POSTGRES_NAME_MAX) return `must be at most ${POSTGRES_NAME_MAX} characters (got ${value.length})`
  if (POSTGRES_NAME.test(value)) return undefined
  const problems: string[] = []
  if (/[A-Z]/.test(value)) problems.push('must be lower case')
  const invalid = [...new Set(value.replace(/[a-zA-Z0-9_-]/g, ''))]
  if (invalid.length > 0) problems.push(`may contain only a-z, 0-9, "_" and "-" (found ${invalid.map((c) => JSON.stringify(c)).join(', ')})`)
  if (!/^[a-zA-Z]/.test(value)) problems.push('must start with a letter')
  if (!/[a-zA-Z0-9]$/.test(value)) problems.push('must end with a letter or digit')
  return problems.join('; ') || 'is not a valid name'
}

/** A PostgreSQL role or database name as kmcp accepts it. */
export function postgresName(what: string, description: string): z.ZodString {
  return z
    .string()
    .superRefine((value, ctx) => {
      const problem = postgresNameProblem(value)
      if (problem) ctx.addIssue({code: 'custom', message: `${what} "${value.slice(0, 80)}" is not accepted: it ${problem} (lower-case letters, digits, "_" and "-", starting with a letter, ending with a letter or digit, at most ${POSTGRES_NAME_MAX} characters)`})
    })
    .describe(description)
}

/** The Kubernetes object name for a PostgreSQL object of a cluster: `<cluster>-<name>`. */
export function objectNameFor(cluster: string, postgresObjectName: string): string {
  return `${cluster}-${postgresObjectName.replaceAll('_', '-')}`
}

/** Secret holding a role's password, as the reference names it: `cnpg-<cluster>-user-<role>`. */
export function roleSecretName(cluster: string, role: string): string {
  return `cnpg-${cluster}-user-${role.replaceAll('_', '-')}`
}

/** Refuses derived names Kubernetes would reject, before anything is sent. */
export function checkDerivedName(kind: string, name: string): void {
  const problem = rfc1123Problem(name, 63)
  if (problem) throw new ToolError(`The ${kind} name "${name}" derived from the cluster and PostgreSQL names would be invalid: it ${problem}. Use a shorter cluster or role/database name.`)
}
