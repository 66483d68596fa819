import {existsSync, readFileSync} from 'node:fs'
import {parse as parseYaml} from 'yaml'
import type {ServerPolicy} from '../tools/policy/modes.ts'

/**
 * Server modes and scope defaults from the configuration file (the same oidc.yaml as the OAuth
 * settings, so one file and one chart value configure a deployment). Flags override the file.
 */
export interface PolicyFileSettings extends ServerPolicy {
  /** Identity-provider group -> kmcp scopes its members get when their token asks for none. */
  scopeGroups?: Record<string, string[]>
}

export class PolicyConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PolicyConfigError'
  }
}

export function loadPolicyFile(path: string | undefined): PolicyFileSettings {
  if (!path || !existsSync(path)) return {}
  const parsed = parseYaml(readFileSync(path, 'utf8')) as Record<string, unknown> | null
  if (!parsed || typeof parsed !== 'object') return {}
  const list = (key: string): string[] | undefined => {
    const value = parsed[key]
    if (value === undefined || value === null) return undefined
    if (typeof value === 'string') return splitList(value)
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((v) => v.trim()).filter(Boolean)
    throw new PolicyConfigError(`${path}: ${key} must be a list of strings or a comma-separated string`)
  }
  const bool = (key: string): boolean | undefined => {
    const value = parsed[key]
    if (value === undefined || value === null) return undefined
    if (typeof value === 'boolean') return value
    throw new PolicyConfigError(`${path}: ${key} must be true or false`)
  }
  const scopeGroups = parsed.scope_groups
  if (scopeGroups !== undefined && scopeGroups !== null && (typeof scopeGroups !== 'object' || Array.isArray(scopeGroups))) {
    throw new PolicyConfigError(`${path}: scope_groups must map group names to lists of scopes, e.g. {"dba": ["cnpg:admin"], "developers": ["cnpg:read"]}`)
  }
  return {
    readOnly: bool('read_only'),
    disableDestructive: bool('disable_destructive'),
    toolsets: list('toolsets'),
    enableTools: list('enable_tools'),
    disableTools: list('disable_tools'),
    namespaces: list('namespaces'),
    scopeGroups: scopeGroups ? Object.fromEntries(Object.entries(scopeGroups).map(([group, scopes]): [string, string[]] => [group, Array.isArray(scopes) ? scopes.map(String) : (splitList(String(scopes)) ?? [])])) : undefined,
  }
}

export function splitList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((v) => v.trim()).filter(Boolean)
}

/** Flags win over the file, key by key. */
export function mergePolicy(fromFlags: ServerPolicy, fromFile: ServerPolicy): ServerPolicy {
  const merged: ServerPolicy = {
    readOnly: fromFlags.readOnly || fromFile.readOnly || undefined,
    disableDestructive: fromFlags.disableDestructive || fromFile.disableDestructive || undefined,
    toolsets: fromFlags.toolsets ?? fromFile.toolsets,
    enableTools: fromFlags.enableTools ?? fromFile.enableTools,
    disableTools: fromFlags.disableTools ?? fromFile.disableTools,
    namespaces: fromFlags.namespaces ?? fromFile.namespaces,
  }
  return Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)) as ServerPolicy
}
