import type {IncomingMessage} from 'node:http'
import {log} from '../../server/logger.ts'
import type {FacadeContext} from '../context.ts'
import type {MachineActor, MachineGrant} from '../machine-clients.ts'
import {OAuthError, param} from '../oauth-http.ts'
import {randomToken} from '../records.ts'

/** RFC 8707: a resource, when given, must be this MCP endpoint. */
export function checkResource(ctx: FacadeContext, form: URLSearchParams): void {
  const resource = param(form, 'resource')
  if (resource !== undefined && !ctx.isOwnResource(resource)) throw new OAuthError('invalid_target', `resource must be ${ctx.resource}`)
}

/** The requested scopes (all of the actor's when none are named); a scope it may not have is refused. */
function grantedScope(actor: MachineActor, requested: string | undefined): string {
  if (!requested) return actor.scopes.join(' ')
  const asked = requested.split(' ').filter(Boolean)
  const refused = asked.filter((s) => !actor.scopes.includes(s))
  if (refused.length > 0) throw new OAuthError('invalid_scope', `this caller may not have the scope(s) ${refused.join(' ')}; allowed: ${actor.scopes.join(' ')}`)
  return asked.join(' ')
}

/**
 * A kmcp access token for a machine client or a trusted workload. No refresh token (RFC 6749
 * §4.4.3): the caller asks again with its credential. The token is bound to a grant like a
 * user's, so /revoke and the bearer check treat both alike.
 */
export async function issueMachineToken(
  ctx: FacadeContext,
  req: IncomingMessage,
  options: {clientId: string; actor: MachineActor; machine: MachineGrant; scope: string | undefined; defaultLifetime: number; grantType: string},
): Promise<Record<string, unknown>> {
  const {actor, machine} = options
  const scope = grantedScope(actor, options.scope)
  const lifetime = Math.min(actor.tokenLifetimeSeconds ?? options.defaultLifetime, ctx.config.accessTokenLifetimeSeconds)
  const gid = randomToken(18)
  await ctx.grants.create(gid, {clientId: options.clientId, scope, upstream: {accessToken: '', claims: {iss: `kmcp:${machine.kind}`, sub: machine.username}}, machine}, lifetime)
  const access = await ctx.issuer.mint({sub: machine.username, client_id: options.clientId, scope, gid}, lifetime)
  log.record('audit', {event: 'machine_token', grant_type: options.grantType, [machine.kind]: machine.name, subject: machine.username, groups: machine.groups, scope, expires_in: lifetime, client_address: ctx.clientAddress(req)})
  return {access_token: access.token, token_type: 'Bearer', expires_in: lifetime, scope}
}
