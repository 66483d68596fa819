import type {IncomingMessage} from 'node:http'
import {log} from '../../server/logger.ts'
import type {FacadeContext} from '../context.ts'
import {OAuthError, param} from '../oauth-http.ts'
import {sha256} from '../records.ts'
import {DEFAULT_EXCHANGED_TOKEN_LIFETIME, WorkloadTokenError} from '../workload-issuers.ts'
import {KEYS_RETRY_AFTER_SECONDS, KeysUnavailableError} from '../workload-keys.ts'
import {checkResource, issueMachineToken} from './machine-token.ts'

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
const SUBJECT_TOKEN_TYPES = ['urn:ietf:params:oauth:token-type:id_token', 'urn:ietf:params:oauth:token-type:jwt']
const exchangedKey = (issuer: string, id: string) => `mcp:oauth:exchanged:${sha256(`${issuer}\n${id}`)}`

/**
 * RFC 8693 token exchange: a CI job (or a pod) presents the OIDC ID token its platform issued and
 * gets a short-lived kmcp token acting as the identity the operator configured for that issuer
 * and those claims. No client authentication: the subject token is the credential, and each one
 * is exchanged once.
 */
export async function tokenExchangeGrant(ctx: FacadeContext, req: IncomingMessage, form: URLSearchParams): Promise<Record<string, unknown>> {
  if (!ctx.workloads.enabled) throw new OAuthError('unsupported_grant_type', 'token exchange is not enabled on this server: its oidc.yaml has no trusted_workload_issuers')
  const subjectToken = param(form, 'subject_token')
  const subjectTokenType = param(form, 'subject_token_type')
  if (!subjectToken) throw new OAuthError('invalid_request', 'subject_token is required: the OIDC ID token your CI platform issued')
  if (!subjectTokenType || !SUBJECT_TOKEN_TYPES.includes(subjectTokenType)) throw new OAuthError('invalid_request', `subject_token_type must be ${SUBJECT_TOKEN_TYPES.join(' or ')}`)
  if (param(form, 'actor_token') !== undefined) throw new OAuthError('invalid_request', 'actor_token (delegation) is not supported')
  const requestedType = param(form, 'requested_token_type')
  if (requestedType !== undefined && requestedType !== ACCESS_TOKEN_TYPE) throw new OAuthError('invalid_request', `requested_token_type must be ${ACCESS_TOKEN_TYPE}`)
  const audience = param(form, 'audience')
  if (audience !== undefined && audience !== ctx.config.publicUrl && !ctx.isOwnResource(audience)) throw new OAuthError('invalid_target', `audience must be ${ctx.config.publicUrl} or ${ctx.resource}`)
  checkResource(ctx, form)
  if (subjectToken.length > 16 * 1024) throw new OAuthError('invalid_request', 'subject_token is too long')

  let verified
  try {
    verified = await ctx.workloads.verify(subjectToken, (message, details) => log.warn(message, {...details, client_address: ctx.clientAddress(req)}))
  } catch (error) {
    if (error instanceof WorkloadTokenError) throw new OAuthError('invalid_request', error.message)
    if (error instanceof KeysUnavailableError) {
      // Not the caller's fault: it should try again shortly, and the operator should know.
      log.record('audit', {event: 'workload_keys_unavailable', issuer: error.issuer, reason: error.message, client_address: ctx.clientAddress(req), result: 'temporarily_unavailable'})
      throw new OAuthError('temporarily_unavailable', `${error.message}; try again in ${KEYS_RETRY_AFTER_SECONDS} s`, 503, {'retry-after': String(KEYS_RETRY_AFTER_SECONDS)})
    }
    throw error
  }
  const {issuer, claims} = verified
  const subject = String(claims.sub)
  const name = `${issuer.issuer} ${subject}`
  await ctx.limit('token_per_client', `workload:${sha256(name)}`, {route: '/token', client_address: ctx.clientAddress(req), client_id: `workload ${name}`.slice(0, 200)})
  // Single use: the jti (or, without one, the token itself) is remembered until the token expires.
  const secondsLeft = Math.max(claims.exp! - Math.floor(Date.now() / 1000), 0)
  const uses = await ctx.store.increment(exchangedKey(issuer.issuer, typeof claims.jti === 'string' ? claims.jti : sha256(subjectToken)), secondsLeft + 60)
  if (uses > 1) {
    log.record('audit', {event: 'oauth_replay', credential: 'subject_token', workload: name, client_address: ctx.clientAddress(req), result: 'refused'})
    throw new OAuthError('invalid_request', 'this subject_token was already exchanged; request a new ID token from your platform for every exchange')
  }
  const answer = await issueMachineToken(ctx, req, {
    clientId: `workload:${issuer.label}`,
    actor: issuer,
    machine: {kind: 'workload', name, username: issuer.username, groups: issuer.groups},
    scope: param(form, 'scope'),
    defaultLifetime: DEFAULT_EXCHANGED_TOKEN_LIFETIME,
    grantType: 'token_exchange',
  })
  return {...answer, issued_token_type: ACCESS_TOKEN_TYPE}
}
