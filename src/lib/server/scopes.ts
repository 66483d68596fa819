import type {ServerResponse} from 'node:http'
import {toolsets} from '../tools/index.ts'
import {SCOPES, type ServerPolicy, exclusionReason, tiersFor} from '../tools/policy/modes.ts'
import type {CallerIdentity} from '../tools/registry.ts'

/**
 * Scoped tokens (HTTP with OAuth): the cnpg:* scopes of the access token, or the defaults of the
 * user's groups (scope_groups in oidc.yaml, "*" for everyone), decide which tools a session sees.
 * Without either, the surface is not limited by scope (tokens of servers configured before scopes).
 */
export function withScopes(identity: CallerIdentity, tokenScopes: string[] | undefined, scopeGroups: Record<string, string[]> | undefined): CallerIdentity {
  const fromToken = (tokenScopes ?? []).filter((s) => s.startsWith('cnpg:'))
  const fromGroups = scopeGroups ? [...new Set([...(scopeGroups['*'] ?? []), ...identity.groups.flatMap((g) => scopeGroups[g] ?? [])])] : undefined
  if (fromToken.length === 0 && !fromGroups) return identity
  if (fromToken.length === 0) return {...identity, scopes: fromGroups}
  if (!fromGroups) return {...identity, scopes: fromToken}
  // A token never opens more than the user's groups allow.
  const allowed = tiersFor(fromGroups)
  const tiers = [...tiersFor(fromToken)].filter((t) => allowed.has(t))
  return {...identity, scopes: tiers.map((t) => SCOPES[t])}
}

/**
 * A tools/call for a tool the server offers but the token's scopes do not open: answered 403 with
 * the scope to ask for (step-up authorization, as the MCP specification describes). Tools the
 * server does not offer at all (server modes) get the ordinary unknown-tool error instead.
 */
export function insufficientScope(body: unknown, identity: CallerIdentity, policy: ServerPolicy | undefined): string | undefined {
  if (!identity.scopes) return undefined
  const messages = Array.isArray(body) ? body : [body]
  for (const message of messages) {
    const call = message as {method?: string; params?: {name?: unknown}} | undefined
    if (call?.method !== 'tools/call' || typeof call.params?.name !== 'string') continue
    for (const toolset of toolsets) {
      const tool = toolset.tools.find((t) => t.name === call.params?.name)
      if (!tool) continue
      if (exclusionReason(tool, toolset, policy, {...identity, scopes: undefined})) return undefined
      const reason = exclusionReason(tool, toolset, policy, identity)
      if (reason?.startsWith('needs scope ')) return reason.slice('needs scope '.length)
    }
  }
  return undefined
}

export function sendInsufficientScope(res: ServerResponse, scope: string, tool: string): void {
  if (res.headersSent) return
  res.writeHead(403, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}", error_description="${tool} needs the ${scope} scope"`,
  })
  res.end(JSON.stringify({error: 'insufficient_scope', error_description: `This tool needs the ${scope} scope. Authorize again asking for scope "${scope}".`, scope}))
}
