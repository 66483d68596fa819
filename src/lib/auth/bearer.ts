import type {IncomingMessage, ServerResponse} from 'node:http'
import type {AuthInfo} from '@modelcontextprotocol/sdk/server/auth/types.js'
import type {CallerIdentity} from '../tools/registry.ts'
import {log} from '../server/logger.ts'
import {sendJson} from '../server/json-reply.ts'
import type {FacadeContext} from './context.ts'
import {identityOf, type IdentityResult} from './identity.ts'
import {machineIdentity} from './machine-clients.ts'
import {CORS} from './oauth-http.ts'
import type {Grant} from './records.ts'

/** The 401/403 answer of the MCP endpoint, with the challenge MCP clients start discovery from. */
function challenge(ctx: FacadeContext, res: ServerResponse, status: 401 | 403, error?: {code: string; description: string}): undefined {
  const parts = [`resource_metadata="${ctx.resourceMetadataUrl}"`, `scope="${ctx.config.mcpScopes.join(' ')}"`]
  if (error) parts.unshift(`error="${error.code}"`, `error_description="${error.description.replace(/["\\]/g, '')}"`)
  sendJson(res, status, error ? {error: error.code, error_description: error.description} : {error: 'unauthorized', error_description: 'a bearer token is required'}, {
    ...CORS,
    'access-control-expose-headers': 'www-authenticate',
    'www-authenticate': `Bearer ${parts.join(', ')}`,
  })
  return undefined
}

/** Checks the bearer token of an MCP request against the signing keys and the stored sign-in. */
export class BearerAuthenticator {
  private readonly ctx: FacadeContext
  /** identityOf, computed once per stored sign-in object (the grant cache hands out the same object). */
  private readonly identities = new WeakMap<Grant, IdentityResult>()

  constructor(ctx: FacadeContext) {
    this.ctx = ctx
  }

  async authenticate(req: IncomingMessage, res: ServerResponse): Promise<{authInfo: AuthInfo; identity: CallerIdentity} | undefined> {
    const ctx = this.ctx
    const refuse = async (status: 401, error?: {code: string; description: string}, detail?: string): Promise<undefined> => {
      // Requests without a valid token are counted per address (rate_limits.mcp_unauthenticated_per_ip).
      const address = ctx.clientAddress(req)
      const limited = await ctx.rateLimiter.hitAddress('mcp_unauthenticated_per_ip', address, {route: 'mcp', client_address: address}).catch(() => undefined)
      if (limited) {
        sendJson(res, 429, {error: 'temporarily_unavailable', error_description: `too many requests without a valid token (rate_limits.mcp_unauthenticated_per_ip); try again in ${limited.retryAfterSeconds} s`}, {...CORS, 'retry-after': String(limited.retryAfterSeconds)})
        return undefined
      }
      // Who knocked without a usable token, and why it was refused (never the token itself).
      log.record('audit', {event: 'mcp_unauthorized', transport: 'http', result: 'refused', reason: error?.code ?? 'no_token', ...(detail ? {detail} : {}), client_address: address})
      return challenge(ctx, res, status, error)
    }
    const header = req.headers.authorization
    const match = header ? /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim()) : null
    if (!match) return refuse(401, header ? {code: 'invalid_request', description: 'malformed Authorization header; expected "Bearer <token>"'} : undefined)
    const token = match[1]
    let claims
    try {
      claims = await ctx.issuer.verify(token)
    } catch (error) {
      // jose's messages name the failed check ("unexpected \"aud\" claim value"), never a claim's value.
      return refuse(401, {code: 'invalid_token', description: 'the access token is invalid or expired'}, (error as Error).message.slice(0, 200))
    }
    let grant: Grant | undefined
    try {
      grant = await ctx.grants.load(claims.gid)
      if (grant && grant.clientId === claims.client_id) grant = await ctx.grants.fresh(claims.gid, grant)
      else grant = undefined
    } catch (error) {
      log.error('token check failed: storage unavailable', {error: (error as Error).message})
      sendJson(res, 503, {error: 'temporarily_unavailable', error_description: 'kmcp cannot reach its token storage; try again shortly'}, {'retry-after': '5'})
      return undefined
    }
    if (!grant) return refuse(401, {code: 'invalid_token', description: 'the sign-in behind this token has ended or was revoked; sign in again'}, 'sign-in ended or revoked')
    const scopes = claims.scope.split(' ').filter(Boolean)
    const missing = ctx.config.mcpScopes.filter((s) => !scopes.includes(s))
    if (missing.length > 0) return challenge(ctx, res, 403, {code: 'insufficient_scope', description: `this request needs the scopes ${ctx.config.mcpScopes.join(' ')}`})
    const who = this.cachedIdentity(grant)
    // The allow-list may have changed since the sign-in.
    if (!who.ok) {
      sendJson(res, 403, {error: 'access_denied', error_description: who.reason}, CORS)
      return undefined
    }
    const identity = who.identity
    return {
      authInfo: {
        token,
        clientId: claims.client_id,
        scopes,
        expiresAt: claims.exp,
        resource: new URL(ctx.resource),
        extra: {userId: identity.userId, upstreamIssuer: grant.upstream.claims.iss},
      },
      identity,
    }
  }

  private cachedIdentity(grant: Grant): IdentityResult {
    let identity = this.identities.get(grant)
    if (!identity) {
      const {config, impersonate} = this.ctx
      identity = grant.machine ? {ok: true, identity: machineIdentity(grant.machine, config.adminUsers, config.adminGroups, impersonate)} : identityOf(grant.upstream, config, impersonate)
      this.identities.set(grant, identity)
    }
    return identity
  }
}
