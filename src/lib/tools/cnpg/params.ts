import {z} from 'zod'
import {kubeName} from '../validation.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from '../common-parameters.ts'
import {once} from '../lazy.ts'

/**
 * Parameters several cluster tools share, with the same names as the reference so an agent
 * prompt written for it still works.
 */

/** CNPG derives Service, Secret and PVC names from the cluster name, hence the 50-character cap. */
export const clusterNameParam = once(() => kubeName('name', {maxLength: 50, description: SHARED_PARAMETER_DESCRIPTIONS.cluster}))

/** Instance (Pod) names are "<cluster>-<serial>". */
export const instanceParam = once(() => kubeName('instance', {description: 'Instance (pod) name, e.g. "orders-db-2".'}))

export const instancesParam = (description: string) =>
  z
    .number()
    .int('instances must be a whole number')
    .min(1, 'instances must be at least 1 (one primary)')
    .max(10, 'instances must be at most 10 (kmcp\'s limit for one cluster; one primary plus up to nine replicas)')
    .describe(description)

/** A PostgreSQL major version (optionally with minor) of the official CNPG operand images. */
export const postgresVersionParam = (description: string) =>
  z
    .string()
    .regex(/^(1[3-9]|[2-9][0-9])(\.[0-9]{1,2})?$/, 'postgres_version must be a PostgreSQL major version 13 or later, optionally with a minor version, e.g. "17" or "16.4"')
    .describe(description)

/** The official CNPG operand image of a PostgreSQL version. */
export function officialImage(version: string | number): string {
  return `ghcr.io/cloudnative-pg/postgresql:${version}`
}

/** A PostgreSQL identifier kmcp accepts for database and owner names. */
export function postgresIdentifier(what: string, description: string): z.ZodString {
  return z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, `${what} must start with a lower-case letter or "_" and contain only lower-case letters, digits and "_"`)
    .max(63, `${what} must be at most 63 characters (PostgreSQL's identifier limit)`)
    .refine((value) => !value.startsWith('pg_'), `${what} must not start with "pg_" (reserved by PostgreSQL)`)
    .describe(description)
}

/** "ns/name" for messages: the same notation as get_cluster_status. */
export function ref(namespace: string, name: string): string {
  return `${namespace}/${name}`
}

/** A call the model can copy, e.g. `delete_postgres_cluster({"name": "x", "confirm_deletion": true})`. */
export function callExample(tool: string, args: Record<string, unknown>): string {
  const defined = Object.fromEntries(Object.entries(args).filter(([, value]) => value !== undefined && value !== false))
  return `${tool}(${JSON.stringify(defined)})`
}

/**
 * A map of settings (PgBouncer, publication or subscription parameters): lower-case names with "_",
 * string values. Checked key by key so the message names the bad key (zod's record key errors do not).
 */
export function settingsMapParam(what: string, description: string, maxEntries = 30) {
  return z
    .record(z.string(), z.string().max(256, `${what} values must be at most 256 characters`))
    .superRefine((map, ctx) => {
      const keys = Object.keys(map)
      if (keys.length > maxEntries) ctx.addIssue({code: 'custom', message: `${what}: at most ${maxEntries} entries (got ${keys.length})`})
      for (const key of keys) {
        if (!/^[a-z_]{1,63}$/.test(key)) ctx.addIssue({code: 'custom', message: `${what}: ${JSON.stringify(key)} is not a valid name: use lower-case letters and "_", e.g. "max_client_conn"`})
      }
    })
    .describe(description)
}
