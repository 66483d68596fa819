import type {CallerIdentity} from '../tools/registry.ts'
import type {AuthConfig} from './config.ts'
import type {UpstreamTokens} from './upstream.ts'
import {userIdFor} from './user-hash.ts'

/** Who a verified upstream sign-in is, for kmcp and for Kubernetes. */
export function identityOf(upstream: UpstreamTokens, config: AuthConfig, impersonate: boolean): CallerIdentity {
  const claims = upstream.claims
  const userId = userIdFor(claims as unknown as Record<string, unknown>, claims.iss)
  const username = claims.preferred_username ?? claims.username ?? claims.name ?? claims.email ?? claims.sub
  // Kubernetes reserves system: groups; an identity provider must never be able to grant them.
  const groups = (claims.groups ?? []).filter((g) => g !== '' && !g.startsWith('system:'))
  const isAdmin = config.adminUsers.some((u) => u === userId || u === username) || groups.some((g) => config.adminGroups.includes(g))
  return {
    userId,
    username,
    groups,
    isAdmin,
    transport: 'http',
    ...(impersonate ? {kubernetes: {user: userId, groups}} : {}),
  }
}
