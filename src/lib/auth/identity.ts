import type {CallerIdentity} from '../tools/registry.ts'
import type {AuthConfig} from './config.ts'
import type {UpstreamClaims, UpstreamTokens} from './upstream.ts'
import {userIdFor} from './user-hash.ts'

/** Whitespace or control characters: such a value could pass for another ("␠system:masters"). */
const UNSAFE = /[\s\p{Cc}\p{Cf}]/u
const MAX_NAME_LENGTH = 256

export type IdentityResult = {ok: true; identity: CallerIdentity} | {ok: false; reason: string}

/** The immutable claim that names the user for Kubernetes and admin matching, or why there is none. */
function subjectValue(claims: UpstreamClaims, claim: string): {value: string} | {reason: string} {
  let value: string | undefined
  if (claim === 'sub') value = claims.sub
  else if (claim === 'email') {
    // An unverified address is just text the user typed.
    if (claims.email && !claims.email_verified) return {reason: 'your identity provider has not verified your email address, which this server uses to identify you'}
    value = claims.email
  } else value = claims.subject_claim ?? (claims as unknown as Record<string, unknown>)[claim] as string | undefined
  if (typeof value !== 'string' || value === '') return {reason: `your identity provider sent no ${claim} claim, which this server uses to identify you`}
  if (UNSAFE.test(value) || value.length > MAX_NAME_LENGTH) return {reason: `the ${claim} claim from your identity provider is not a usable name`}
  return {value}
}

/**
 * Groups as Kubernetes sees them: values with whitespace or control characters are dropped,
 * system: groups are never passed (Kubernetes reserves them), and the rest get the prefix, so no
 * claim can name system:masters or kubeadm:cluster-admins.
 */
export function kubernetesGroups(groups: string[] | undefined, prefix: string): string[] {
  const out = new Set<string>()
  for (const group of groups ?? []) {
    if (typeof group !== 'string' || group === '' || group.length > MAX_NAME_LENGTH || UNSAFE.test(group) || group.startsWith('system:')) continue
    out.add(`${prefix}${group}`)
  }
  return [...out]
}

/** The allow-list (allowed_users / allowed_groups / allowed_email_domains), when one is set. */
function allowed(config: AuthConfig, subject: string, groups: string[], claims: UpstreamClaims): boolean {
  if (config.allowedUsers.length === 0 && config.allowedGroups.length === 0 && config.allowedEmailDomains.length === 0) return true
  if (config.allowedUsers.includes(subject)) return true
  if (groups.some((g) => config.allowedGroups.includes(g))) return true
  const email = claims.email_verified ? claims.email?.toLowerCase() : undefined
  const domain = email?.slice(email.lastIndexOf('@') + 1)
  return domain !== undefined && email!.includes('@') && config.allowedEmailDomains.includes(domain)
}

/**
 * Who a verified upstream sign-in is. The Kubernetes user (Impersonate-User), admin matching and
 * session ownership come from an immutable claim (default sub) with a prefix, as the API server's
 * own OIDC authenticator maps them. userId ({username}-{issuer hash}) only names the user in
 * audit lines and messages: display names are user-controlled, so it grants nothing.
 */
export function identityOf(upstream: UpstreamTokens, config: AuthConfig, impersonate: boolean): IdentityResult {
  const claims = upstream.claims
  const found = subjectValue(claims, config.kubernetesUsername.claim)
  if ('reason' in found) return {ok: false, reason: found.reason}
  const subject = `${config.kubernetesUsername.prefix}${found.value}`
  const groups = kubernetesGroups(claims.groups, config.kubernetesGroups.prefix)
  if (!allowed(config, subject, groups, claims)) return {ok: false, reason: 'this server only lets in the users and groups its operator allowed; ask them to add you'}
  const isAdmin = config.adminUsers.includes(subject) || groups.some((g) => config.adminGroups.includes(g))
  return {
    ok: true,
    identity: {
      userId: userIdFor(claims as unknown as Record<string, unknown>, claims.iss),
      username: claims.preferred_username ?? claims.username ?? claims.name ?? claims.email ?? claims.sub,
      subject,
      groups,
      isAdmin,
      transport: 'http',
      ...(impersonate ? {kubernetes: {user: subject, groups}} : {}),
    },
  }
}
