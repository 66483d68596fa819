import {z} from 'zod'

/**
 * Input building blocks shared by every tool. Each rule failure names the rule, because the
 * model reading the error has to fix the argument without guessing.
 */

const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** Explains why `value` is not an RFC 1123 label, or returns undefined when it is one. */
export function rfc1123Problem(value: string, maxLength = 63): string | undefined {
  if (value.length === 0) return 'must not be empty'
  if (value.length > maxLength) return `must be at most ${maxLength} characters (got ${value.length})`
  if (RFC1123_LABEL.test(value)) return undefined
  const problems: string[] = []
  if (/[A-Z]/.test(value)) problems.push('must be lower case')
  const invalid = [...new Set(value.replace(/[a-zA-Z0-9-]/g, ''))]
  if (invalid.length > 0) problems.push(`may contain only a-z, 0-9 and "-" (found ${invalid.map((c) => JSON.stringify(c)).join(', ')})`)
  if (!/^[a-zA-Z0-9]/.test(value)) problems.push('must start with a letter or digit')
  if (!/[a-zA-Z0-9]$/.test(value)) problems.push('must end with a letter or digit')
  return problems.join('; ') || 'is not a valid RFC 1123 name'
}

/** A Kubernetes object name that must be an RFC 1123 label (namespaces, CNPG clusters, …). */
export function kubeName(what: string, options: {maxLength?: number; description?: string} = {}): z.ZodString {
  const maxLength = options.maxLength ?? 63
  return z
    .string()
    .superRefine((value, ctx) => {
      const problem = rfc1123Problem(value, maxLength)
      if (problem) ctx.addIssue({code: 'custom', message: `${what} "${value}" is not a valid Kubernetes name: it ${problem} (RFC 1123: lower-case letters, digits and "-", starting and ending with a letter or digit, at most ${maxLength} characters)`})
    })
    .describe(options.description ?? what)
}

export const namespaceParam = kubeName('namespace', {
  description: 'Kubernetes namespace. Omit to use the server\'s default namespace (service account namespace, else the kubeconfig context\'s namespace, else "default").',
}).optional()

export const formatParam = z
  .enum(['text', 'json'])
  .default('text')
  .describe('"text" (default): a readable summary. "json": the same data as JSON, for programmatic use.')

export const detailLevelParam = z
  .enum(['concise', 'detailed'])
  .default('concise')
  .describe('"concise" (default): the essentials. "detailed": adds conditions, storage and configuration details.')

export const limitParam = z
  .number()
  .int('limit must be a whole number')
  .min(1, 'limit must be at least 1')
  .max(500, 'limit must be at most 500')
  .optional()
  .describe('Maximum number of items to return in this page (1-500). Use with "continue" to page through long lists.')

export const continueParam = z
  .string()
  .min(1)
  .max(4096, 'continue must be at most 4096 characters')
  .optional()
  .describe('The "continue" token from the previous page of the same list. Omit for the first page.')

export const dryRunParam = z
  .boolean()
  .default(false)
  .describe('true: send the request to the API server with dryRun=All and show what it would do (validated by the CRD schema and webhooks); nothing is stored.')
