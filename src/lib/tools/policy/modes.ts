import type {AnyTool, CallerIdentity, Toolset} from '../registry.ts'
import {ToolError} from '../errors.ts'

/**
 * Server modes: which tools a server (and a session) offers. A tool left out is not mounted at all,
 * so tools/list does not show it and a call to it gets the SDK's standard unknown-tool error.
 */
export interface ServerPolicy {
  /** --read-only: only readOnlyHint tools. */
  readOnly?: boolean
  /** --disable-destructive: no destructiveHint tools. */
  disableDestructive?: boolean
  /** --toolsets: only these toolsets (names as in docs/safety.md). */
  toolsets?: string[]
  /** --enable-tools: only tools matching one of these names or globs ("get_*"). */
  enableTools?: string[]
  /** --disable-tools: never tools matching one of these names or globs. */
  disableTools?: string[]
  /** --namespaces: the only namespaces tools may touch. */
  namespaces?: string[]
}

/** The OAuth scopes that decide the surface of an HTTP session (docs/safety.md). */
export const SCOPES = {read: 'cnpg:read', write: 'cnpg:write', admin: 'cnpg:admin'} as const
/** The OAuth scopes that choose a tool tier (granted when a client asks for them). */
export const TOOL_TIER_SCOPES: readonly string[] = Object.values(SCOPES)
export type Tier = keyof typeof SCOPES

/** read: looks only; write: changes clusters; admin: the adminOnly toolsets. */
export function tierOf(tool: AnyTool, toolset: Toolset): Tier {
  if (toolset.adminOnly) return 'admin'
  return tool.annotations.readOnlyHint ? 'read' : 'write'
}

/** The tiers a set of granted scopes opens; each scope includes the ones below it. */
export function tiersFor(scopes: string[]): Set<Tier> {
  const tiers = new Set<Tier>()
  if (scopes.includes(SCOPES.admin)) tiers.add('admin').add('write').add('read')
  if (scopes.includes(SCOPES.write)) tiers.add('write').add('read')
  if (scopes.includes(SCOPES.read)) tiers.add('read')
  return tiers
}

/** "get_*" style globs: only "*" and "?" are special. */
export function globMatches(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
  return regex.test(name)
}

/** Why a tool is not offered by this server or session, or undefined when it is. */
export function exclusionReason(tool: AnyTool, toolset: Toolset, policy: ServerPolicy | undefined, identity: CallerIdentity | undefined): string | undefined {
  if (toolset.adminOnly && !identity?.isAdmin) return 'admin tools are for administrators'
  if (policy?.readOnly && !tool.annotations.readOnlyHint) return 'read-only mode'
  if (policy?.disableDestructive && tool.annotations.destructiveHint) return 'destructive tools are disabled'
  if (policy?.toolsets && !policy.toolsets.includes(toolset.name)) return 'toolset not enabled'
  if (policy?.enableTools && !policy.enableTools.some((p) => globMatches(p, tool.name))) return 'not in --enable-tools'
  if (policy?.disableTools?.some((p) => globMatches(p, tool.name))) return 'in --disable-tools'
  if (identity?.scopes && !tiersFor(identity.scopes).has(tierOf(tool, toolset))) return `needs scope ${SCOPES[tierOf(tool, toolset)]}`
  return undefined
}

/** The scope a tool needs, for 403 insufficient_scope answers; undefined for tools no scope opens. */
export function requiredScope(toolName: string, toolsets: Toolset[]): string | undefined {
  for (const toolset of toolsets) {
    const tool = toolset.tools.find((t) => t.name === toolName)
    if (tool) return SCOPES[tierOf(tool, toolset)]
  }
  return undefined
}

/** Checks a namespace against --namespaces before any request is made. */
export function checkNamespace(policy: ServerPolicy | undefined, namespace: string): void {
  if (!policy?.namespaces || policy.namespaces.includes(namespace)) return
  throw new NamespaceRefusal(namespace, policy.namespaces)
}

export class NamespaceRefusal extends ToolError {
  readonly namespace: string
  constructor(namespace: string, allowed: string[]) {
    super(`REFUSED: namespace "${namespace}" is outside the namespaces this server may use (${allowed.join(', ')}). Nothing was sent to Kubernetes. Call again with "namespace" set to one of: ${allowed.join(', ')}.`)
    this.name = 'NamespaceRefusal'
    this.namespace = namespace
  }
}

/** Names of the toolsets that exist, for validating --toolsets. */
export function validateToolsets(policy: ServerPolicy, toolsets: Toolset[]): string | undefined {
  const known = toolsets.map((t) => t.name)
  const unknown = (policy.toolsets ?? []).filter((t) => !known.includes(t))
  return unknown.length > 0 ? `unknown toolset(s) ${unknown.join(', ')}: the toolsets are ${known.join(', ')}` : undefined
}
