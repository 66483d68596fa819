import type {IncomingMessage} from 'node:http'
import {decodeJwt, jwtVerify, type JWTVerifyGetKey} from 'jose'
import type {KeyObject} from 'node:crypto'
import {log} from '../../server/logger.ts'
import type {FacadeContext} from '../context.ts'
import {secretMatches, type MachineClient} from '../machine-clients.ts'
import {OAuthError, invalidClient, param} from '../oauth-http.ts'
import {sha256} from '../records.ts'
import {checkResource, issueMachineToken} from './machine-token.ts'

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const ASSERTION_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']
/** A client assertion may live at most this long: its jti is remembered until it expires. */
const MAX_ASSERTION_LIFETIME_SECONDS = 600
const assertionKey = (clientId: string, jti: string) => `mcp:oauth:assertion-jti:${sha256(`${clientId}\n${jti}`)}`

type Presented = {method: 'client_secret_basic' | 'client_secret_post'; clientId: string; secret: string} | {method: 'private_key_jwt'; clientId: string; assertion: string}

/** The one client authentication the request carries (RFC 6749 §2.3: never more than one). */
function presentedCredentials(req: IncomingMessage, form: URLSearchParams): Presented {
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization?.trim() ?? '')
  const assertion = param(form, 'client_assertion')
  const postSecret = param(form, 'client_secret')
  const bodyId = param(form, 'client_id')
  if ([basic, assertion, postSecret].filter(Boolean).length > 1) throw new OAuthError('invalid_request', 'use one client authentication method: HTTP Basic, client_secret in the body, or client_assertion')
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    let clientId: string
    let secret: string
    try {
      // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
      const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '))
      clientId = decode(decoded.slice(0, Math.max(0, colon)))
      secret = decode(decoded.slice(colon + 1))
    } catch {
      throw invalidClient('malformed Basic credentials')
    }
    if (colon < 0) throw invalidClient('malformed Basic credentials')
    if (bodyId !== undefined && bodyId !== clientId) throw invalidClient('client_id in the body and in the Authorization header differ')
    return {method: 'client_secret_basic', clientId, secret}
  }
  if (assertion) {
    if (param(form, 'client_assertion_type') !== JWT_BEARER_ASSERTION) throw new OAuthError('invalid_request', `client_assertion_type must be ${JWT_BEARER_ASSERTION}`)
    let issuer: unknown
    try {
      issuer = decodeJwt(assertion).iss
    } catch {
      throw invalidClient('client_assertion is not a JWT')
    }
    if (typeof issuer !== 'string' || (bodyId !== undefined && bodyId !== issuer)) throw invalidClient('the client_assertion must be issued by the client (iss = sub = client_id)')
    return {method: 'private_key_jwt', clientId: issuer, assertion}
  }
  if (postSecret !== undefined && bodyId !== undefined) return {method: 'client_secret_post', clientId: bodyId, secret: postSecret}
  throw invalidClient('client_credentials needs client authentication: HTTP Basic with the client id and secret, or a private_key_jwt client_assertion (RFC 7523)')
}

/** RFC 7523 §3: signed by the client's key, iss = sub = client_id, aud = this token endpoint, unexpired, jti never seen. */
async function verifyAssertion(ctx: FacadeContext, client: MachineClient, assertion: string): Promise<string | undefined> {
  if (!client.keys) return 'no public key is configured for this client (public_key_file or jwks_file)'
  let payload
  try {
    ;({payload} = await jwtVerify(assertion, client.keys as KeyObject & JWTVerifyGetKey, {
      issuer: client.clientId,
      subject: client.clientId,
      audience: [`${ctx.config.publicUrl}/token`, ctx.config.publicUrl],
      algorithms: ASSERTION_ALGORITHMS,
      requiredClaims: ['exp', 'jti'],
      clockTolerance: 30,
    }))
  } catch (error) {
    return `client_assertion refused: ${(error as Error).message}`
  }
  const secondsLeft = payload.exp! - Math.floor(Date.now() / 1000)
  if (secondsLeft > MAX_ASSERTION_LIFETIME_SECONDS) return `client_assertion must expire within ${MAX_ASSERTION_LIFETIME_SECONDS} s`
  const uses = await ctx.store.increment(assertionKey(client.clientId, String(payload.jti)), Math.max(secondsLeft, 0) + 60)
  if (uses > 1) return 'client_assertion was already used (its jti was seen before); sign a new one for every request'
  return undefined
}

/**
 * Whether the request authenticates as a machine client (an assertion, a secret in the body, or
 * HTTP Basic naming a machine client): /revoke then takes the machine path. Registered (public)
 * clients never carry a secret kmcp checks.
 */
export function carriesMachineCredentials(ctx: FacadeContext, req: IncomingMessage, form: URLSearchParams): boolean {
  if (ctx.config.machineClients.length === 0) return false
  const isMachineClient = (id: string | undefined) => ctx.config.machineClients.some((client) => client.clientId === id)
  if (param(form, 'client_assertion') !== undefined) return true
  if (param(form, 'client_secret') !== undefined && isMachineClient(param(form, 'client_id'))) return true
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization?.trim() ?? '')
  if (!basic) return false
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
  let id: string
  try {
    id = decodeURIComponent(decoded.slice(0, Math.max(0, decoded.indexOf(':'))).replace(/\+/g, ' '))
  } catch {
    return false
  }
  return isMachineClient(id)
}

/** The machine client the request authenticates as (secret or private_key_jwt); 401 invalid_client otherwise. */
export async function authenticateMachineClient(ctx: FacadeContext, req: IncomingMessage, form: URLSearchParams): Promise<MachineClient> {
  const presented = presentedCredentials(req, form)
  const client = ctx.config.machineClients.find((c) => c.clientId === presented.clientId)
  let reason: string | undefined
  if (!client) reason = 'not a machine client of this server'
  else if (presented.method === 'private_key_jwt') reason = await verifyAssertion(ctx, client, presented.assertion)
  else if (!client.secretDigest) reason = 'this client authenticates with private_key_jwt, not a secret'
  else if (!secretMatches(client, presented.secret)) reason = 'wrong client secret'
  if (!client || reason) {
    log.warn('client credentials refused', {client_id: presented.clientId.slice(0, 100), method: presented.method, reason, client_address: ctx.clientAddress(req)})
    // One answer for an unknown client and a wrong credential: client ids are not discoverable.
    throw invalidClient(reason?.startsWith('client_assertion') ? reason : 'client authentication failed: unknown machine client or wrong credential')
  }
  return client
}

/** The client_credentials grant (RFC 6749 §4.4) for the `machine_clients` of oidc.yaml. */
export async function clientCredentialsGrant(ctx: FacadeContext, req: IncomingMessage, form: URLSearchParams): Promise<Record<string, unknown>> {
  if (ctx.config.machineClients.length === 0) throw new OAuthError('unsupported_grant_type', 'client_credentials is not enabled on this server: its oidc.yaml has no machine_clients')
  const client = await authenticateMachineClient(ctx, req, form)
  await ctx.limit('token_per_client', client.clientId, {route: '/token', client_address: ctx.clientAddress(req), client_id: client.clientId})
  checkResource(ctx, form)
  return issueMachineToken(ctx, req, {
    clientId: client.clientId,
    actor: client,
    machine: {kind: 'machine_client', name: client.clientId, username: client.username, groups: client.groups},
    scope: param(form, 'scope'),
    defaultLifetime: ctx.config.accessTokenLifetimeSeconds,
    grantType: 'client_credentials',
  })
}
