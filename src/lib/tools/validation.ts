import {z} from 'zod'
import {SHARED_PARAMETER_DESCRIPTIONS} from './common-parameters.ts'
import {once} from './lazy.ts'

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

export const namespaceParam = once(() => kubeName('namespace', {description: SHARED_PARAMETER_DESCRIPTIONS.namespace}).optional())

export const formatParam = once(() => z
  .enum(['text', 'json'])
  .default('text')
  .describe(SHARED_PARAMETER_DESCRIPTIONS.format))

export const detailLevelParam = once(() => z
  .enum(['concise', 'detailed'])
  .default('concise')
  .describe(SHARED_PARAMETER_DESCRIPTIONS.detailLevel))

export const limitParam = once(() => z
  .number()
  .int('limit must be a whole number')
  .min(1, 'limit must be at least 1')
  .max(500, 'limit must be at most 500')
  .optional()
  .describe(SHARED_PARAMETER_DESCRIPTIONS.limit))

export const continueParam = once(() => z
  .string()
  .min(1)
  .max(4096, 'continue must be at most 4096 characters')
  .optional()
  .describe(SHARED_PARAMETER_DESCRIPTIONS.continue))

/** true: the list covers every namespace kmcp can read (or the --namespaces allow-list). */
export const allNamespacesParam = once(() => z.boolean().default(false).describe(SHARED_PARAMETER_DESCRIPTIONS.allNamespaces))

export const dryRunParam = once(() => z
  .boolean()
  .default(false)
  .describe(SHARED_PARAMETER_DESCRIPTIONS.dryRun))

/**
 * Kubernetes resource quantities (the grammar of k8s.io/apimachinery resource.Quantity):
 * an optional sign, a decimal number, then a binary suffix (Ki…Ei), a decimal suffix (m, k, M…E)
 * or a decimal exponent (e3, E-2). No library for Node implements it, hence this small parser.
 */
const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]|[eE][+-]?[0-9]+)?$/
const BINARY_POWER: Record<string, number> = {Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60}
const DECIMAL_POWER: Record<string, number> = {m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18}
const QUANTITY_MAX_LENGTH = 64

/** An exact quantity: `numerator / 10^scale`. Exact so that 1G < 1Gi and 1000M == 1G compare right. */
export interface Quantity {
  text: string
  numerator: bigint
  scale: number
}

/** Parses a Kubernetes quantity, or explains what is wrong with it. */
export function parseQuantity(text: string): {quantity: Quantity} | {problem: string} {
  const example = 'e.g. "10Gi", "500Mi", "1.5G" or "2147483648" (bytes)'
  if (text.length === 0) return {problem: `is empty; give a number with an optional unit, ${example}`}
  if (text.length > QUANTITY_MAX_LENGTH) return {problem: `is longer than ${QUANTITY_MAX_LENGTH} characters`}
  const match = QUANTITY.exec(text)
  if (!match) {
    const hint = /\s/.test(text) ? 'must not contain spaces' : /^[0-9.+-]*[a-zA-Z]+$/.test(text) ? 'has an unknown unit (use Ki, Mi, Gi, Ti, Pi, Ei for powers of 1024, or k, M, G, T, P, E for powers of 1000)' : 'is not a number followed by an optional unit'
    return {problem: `${hint}; Kubernetes quantities look like ${example}`}
  }
  const [, sign, number, suffix = ''] = match
  const [whole, fraction = ''] = number.split('.')
  let numerator = BigInt((whole || '0') + fraction)
  let scale = fraction.length
  if (suffix in BINARY_POWER) {
    numerator *= 2n ** BigInt(BINARY_POWER[suffix])
  } else {
    const power = suffix in DECIMAL_POWER ? DECIMAL_POWER[suffix] : Number(suffix.slice(1))
    // Kubernetes itself rejects exponents this large; the bound also keeps the BigInt small.
    if (Math.abs(power) > 30) return {problem: `has an exponent out of range (${suffix}); Kubernetes quantities look like ${example}`}
    if (power >= 0) numerator *= 10n ** BigInt(power)
    else scale -= power
  }
  if (sign === '-') numerator = -numerator
  return {quantity: {text, numerator, scale}}
}

/** -1, 0 or 1 as a is less than, equal to or greater than b. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const scale = Math.max(a.scale, b.scale)
  const left = a.numerator * 10n ** BigInt(scale - a.scale)
  const right = b.numerator * 10n ** BigInt(scale - b.scale)
  return left < right ? -1 : left > right ? 1 : 0
}

/** The number of bytes a storage quantity stands for, rounded up as Kubernetes does. */
export function quantityToBytes(quantity: Quantity): bigint {
  const divisor = 10n ** BigInt(quantity.scale)
  const bytes = quantity.numerator / divisor
  return quantity.numerator % divisor === 0n || quantity.numerator < 0n ? bytes : bytes + 1n
}

/** Explains why `text` is not a usable storage size (a positive whole number of bytes), or undefined. */
export function storageSizeProblem(text: string): string | undefined {
  const parsed = parseQuantity(text)
  if ('problem' in parsed) return parsed.problem
  const {numerator, scale} = parsed.quantity
  if (numerator <= 0n) return 'must be greater than zero'
  if (numerator % 10n ** BigInt(scale) !== 0n) return 'is not a whole number of bytes (the "m" suffix means thousandths; use Mi or M for megabytes)'
  if (quantityToBytes(parsed.quantity) < 1024n * 1024n) return 'is smaller than 1Mi, too small for a PostgreSQL volume (did you mean Mi or Gi?)'
  return undefined
}

/** A storage size such as "10Gi": a Kubernetes quantity, positive, whole bytes, at least 1Mi. */
export function storageSizeParam(what: string, description: string): z.ZodString {
  return z
    .string()
    .superRefine((value, ctx) => {
      const problem = storageSizeProblem(value)
      if (problem) ctx.addIssue({code: 'custom', message: `${what} "${value}" is not a valid storage size: it ${problem}`})
    })
    .describe(description)
}

/** A CPU or memory quantity for resource requests/limits, e.g. "500m" CPU or "2Gi" memory. */
export function resourceQuantityParam(what: string, description: string): z.ZodString {
  return z
    .string()
    .superRefine((value, ctx) => {
      const parsed = parseQuantity(value)
      if ('problem' in parsed) ctx.addIssue({code: 'custom', message: `${what} "${value}" is not a valid Kubernetes quantity: it ${parsed.problem}`})
      else if (parsed.quantity.numerator <= 0n) ctx.addIssue({code: 'custom', message: `${what} "${value}" must be greater than zero`})
    })
    .describe(description)
}

/** Explains why `text` is not an RFC 3339 date-time with a time zone, or returns undefined. */
export function rfc3339Problem(text: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/.exec(text)
  if (!match) return 'is not an RFC 3339 date-time with a time zone, e.g. "2026-11-24T15:30:00Z" or "2026-11-24T16:30:00+01:00"'
  const [, year, month, day, hour, minute, second] = match.map(Number)
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (month < 1 || month > 12) return `has month ${month}, which is not 01-12`
  if (day < 1 || day > daysInMonth) return `has day ${day}, which does not exist in ${match[1]}-${match[2]}`
  if (hour > 23 || minute > 59 || second > 60) return 'has a time of day out of range (hours 00-23, minutes 00-59, seconds 00-59)'
  return undefined
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** Explains why `key` is not a Kubernetes label key ("prefix/name"), or returns undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/')
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined
  const name = slash >= 0 ? key.slice(slash + 1) : key
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return 'has a prefix that is not a DNS subdomain of at most 253 characters'
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) return 'has a name part that is not 1-63 letters, digits, "-", "_" or "." starting and ending with a letter or digit'
  return undefined
}

/** Explains why `value` is not a Kubernetes label value, or returns undefined. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length === 0) return undefined
  if (value.length > 63 || !LABEL_NAME.test(value)) return 'is not at most 63 letters, digits, "-", "_" or "." starting and ending with a letter or digit'
  return undefined
}

/** A map of label keys to label values, e.g. a node selector. */
export function labelMapParam(what: string, description: string) {
  return z
    .record(z.string(), z.string())
    .superRefine((map, ctx) => {
      const entries = Object.entries(map)
      if (entries.length > 20) ctx.addIssue({code: 'custom', message: `${what} may have at most 20 entries (got ${entries.length})`})
      for (const [key, value] of entries) {
        const keyProblem = labelKeyProblem(key)
        if (keyProblem) ctx.addIssue({code: 'custom', message: `${what} key ${JSON.stringify(key)} is not a valid label key: it ${keyProblem}`})
        const valueProblem = labelValueProblem(value)
        if (valueProblem) ctx.addIssue({code: 'custom', message: `${what} value ${JSON.stringify(value)} (key ${JSON.stringify(key)}) is not a valid label value: it ${valueProblem}`})
      }
    })
    .describe(description)
}

/** A DNS subdomain name such as a StorageClass name (dots allowed, at most 253 characters). */
export function dnsSubdomainParam(what: string, description: string): z.ZodString {
  return z
    .string()
    .superRefine((value, ctx) => {
      if (value.length === 0 || value.length > 253 || !DNS_SUBDOMAIN.test(value)) {
        ctx.addIssue({code: 'custom', message: `${what} "${value}" is not a valid name: use 1-253 lower-case letters, digits, "-" and ".", starting and ending with a letter or digit`})
      }
    })
    .describe(description)
}
