import {z} from 'zod'
import type {Database, DatabaseObjectStatus} from './objects.ts'
import {once} from '../lazy.ts'

/**
 * The locale and encoding options of CREATE DATABASE that a CNPG Database carries: tool
 * argument name, spec field and the label the reference prints ("- Encoding: UTF8").
 */
export const CREATE_OPTIONS = [
  {arg: 'encoding', field: 'encoding', label: 'Encoding'},
  {arg: 'locale', field: 'locale', label: 'Locale'},
  {arg: 'locale_provider', field: 'localeProvider', label: 'Locale Provider'},
  {arg: 'locale_collate', field: 'localeCollate', label: 'LC_COLLATE'},
  {arg: 'locale_ctype', field: 'localeCType', label: 'LC_CTYPE'},
  {arg: 'icu_locale', field: 'icuLocale', label: 'ICU Locale'},
  {arg: 'icu_rules', field: 'icuRules', label: 'ICU Rules'},
  {arg: 'builtin_locale', field: 'builtinLocale', label: 'Builtin Locale'},
  {arg: 'collation_version', field: 'collationVersion', label: 'Collation Version'},
] as const

export type CreateOptionArg = (typeof CREATE_OPTIONS)[number]['arg']

export const createOptionsSchema = once(() => z.object(Object.fromEntries(CREATE_OPTIONS.map((o) => [o.arg, z.string().optional()])) as Record<CreateOptionArg, z.ZodOptional<z.ZodString>>))

export const databaseSchema = once(() => z.object({
  crd_name: z.string().describe('Name of the Database object'),
  database_name: z.string().describe('Database name inside PostgreSQL'),
  owner: z.string(),
  ensure: z.string(),
  reclaim_policy: z.string().describe('What happens to the PostgreSQL database when the Database object is deleted: "retain" or "delete"'),
  applied: z.boolean().optional(),
  create_options: createOptionsSchema().describe('Locale and encoding options; absent when not set'),
}))

export type DatabaseSummary = z.infer<ReturnType<typeof databaseSchema>>

const objectStatusSchema = once(() => z.object({name: z.string(), applied: z.boolean(), message: z.string().optional()}))

export const databaseStatusSchema = once(() => z.object({
  applied: z.boolean().optional(),
  observed_generation: z.number().optional(),
  message: z.string().optional(),
  schemas: z.array(objectStatusSchema()),
  extensions: z.array(objectStatusSchema()),
  fdws: z.array(objectStatusSchema()),
  servers: z.array(objectStatusSchema()),
}))

export function summarizeDatabase(database: Database): DatabaseSummary {
  const spec = database.spec
  const options = Object.fromEntries(CREATE_OPTIONS.map((o) => [o.arg, (spec[o.field] as string | undefined) ?? undefined])) as Record<CreateOptionArg, string | undefined>
  return {
    crd_name: database.metadata.name,
    database_name: spec.name,
    owner: spec.owner,
    ensure: spec.ensure ?? 'present',
    reclaim_policy: spec.databaseReclaimPolicy ?? 'retain',
    applied: database.status?.applied ?? undefined,
    create_options: options,
  }
}

const objects = (list: DatabaseObjectStatus[] | undefined) => (list ?? []).map((o) => ({name: o.name, applied: o.applied, message: o.message || undefined}))

export function summarizeDatabaseStatus(database: Database): z.infer<ReturnType<typeof databaseStatusSchema>> {
  const status = database.status ?? {}
  return {
    applied: status.applied ?? undefined,
    observed_generation: status.observedGeneration,
    message: status.message || undefined,
    schemas: objects(status.schemas),
    extensions: objects(status.extensions),
    fdws: objects(status.fdws),
    servers: objects(status.servers),
  }
}

/** Option lines; `all` also prints unset options as "not set" (status view). */
export function renderCreateOptions(options: DatabaseSummary['create_options'], all: boolean): string[] {
  const lines: string[] = []
  for (const option of CREATE_OPTIONS) {
    const value = options[option.arg]
    if (value !== undefined) lines.push(`- ${option.label}: ${value}`)
    else if (all) lines.push(`- ${option.label}: not set`)
  }
  return lines
}

export function renderDatabaseStatus(status: z.infer<ReturnType<typeof databaseStatusSchema>>): string[] {
  const lines = ['Operator Status:']
  if (status.applied === undefined && status.observed_generation === undefined && !status.message) {
    lines.push('- not reported by the operator yet (it has not reconciled this database)')
    return lines
  }
  lines.push(`- Applied: ${status.applied === undefined ? 'unknown' : status.applied ? 'True' : 'False'}`)
  if (status.observed_generation !== undefined) lines.push(`- Observed Generation: ${status.observed_generation}`)
  if (status.message) lines.push(`- Message: ${status.message}`)
  for (const kind of ['schemas', 'extensions', 'fdws', 'servers'] as const) {
    for (const o of status[kind]) lines.push(`- ${kind.slice(0, -1)} ${o.name}: ${o.applied ? 'applied' : 'not applied'}${o.message ? ` (${o.message})` : ''}`)
  }
  return lines
}
