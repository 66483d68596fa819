import {createHash} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import {log} from '../../server/logger.ts'
import {sendJson} from '../../server/json-reply.ts'
import {isMetadataDocumentClientId} from '../client-metadata.ts'
import type {Endpoint, FacadeContext} from '../context.ts'
import {CORS, OAuthError, allowMethods, invalidClient, clientIdOf, param, readForm} from '../oauth-http.ts'
import {CLIENT_TTL, KEY, USED_CODE_TTL, randomToken, safeEqual, sha256, type CodeRecord, type RefreshRecord, type RegisteredClient, type Tombstone} from '../records.ts'
import type {UpstreamTokens} from '../upstream.ts'
import {MACHINE_GRANTS} from './token-machine.ts'

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/

async function issueTokens(ctx: FacadeContext, clientId: string, gid: string, scope: string, upstream: UpstreamTokens): Promise<Record<string, unknown>> {
  const lifetime = Math.min(ctx.config.accessTokenLifetimeSeconds, ctx.config.refreshTokenLifetimeSeconds)
  const access = await ctx.issuer.mint({sub: upstream.claims.sub, client_id: clientId, scope, gid}, lifetime)
  const refreshToken = randomToken()
  await ctx.store.set(KEY.refresh(refreshToken), {clientId, gid, scope} satisfies RefreshRecord, ctx.config.refreshTokenLifetimeSeconds)
  return {access_token: access.token, token_type: 'Bearer', expires_in: lifetime, refresh_token: refreshToken, scope}
}

/**
 * A code or refresh token presented again after it was used: whoever holds it is not (only) the
 * client. OAuth 2.1 §4.3.1 / RFC 9700 §4.14.2: end the whole grant, so the party that used it
 * first loses the session too, and leave an audit line.
 */
async function replayed(ctx: FacadeContext, req: IncomingMessage, tombstoneKey: string, what: 'authorization_code' | 'refresh_token'): Promise<void> {
  const tombstone = await ctx.store.get<Tombstone>(tombstoneKey)
  if (!tombstone) return
  const ended = await ctx.grants.end(tombstone.gid)
  log.record('audit', {event: 'oauth_replay', credential: what, client_id: tombstone.clientId, grant: sha256(tombstone.gid).slice(0, 12), client_address: ctx.clientAddress(req), result: ended ? 'grant revoked' : 'grant already ended'})
}

/**
 * token_per_client counts only requests that carry a valid code or refresh token of the client:
 * a client_id is public, so counting before that would let anyone use up a client's budget.
 */
function countForClient(ctx: FacadeContext, req: IncomingMessage, clientId: string): Promise<void> {
  return ctx.limit('token_per_client', clientId, {route: '/token', client_address: ctx.clientAddress(req), client_id: clientId.slice(0, 200)})
}

async function authorizationCodeGrant(ctx: FacadeContext, req: IncomingMessage, form: URLSearchParams, client: RegisteredClient): Promise<Record<string, unknown>> {
  const code = param(form, 'code')
  const verifier = param(form, 'code_verifier')
  if (!code) throw new OAuthError('invalid_request', 'code is required')
  if (!verifier) throw new OAuthError('invalid_request', 'code_verifier is required (PKCE)')
  if (!CODE_VERIFIER.test(verifier)) throw new OAuthError('invalid_request', 'code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636)')
  if (code.length > 200) throw new OAuthError('invalid_grant', 'the authorization code is invalid, expired or already used')
  const peek = await ctx.store.get<CodeRecord>(KEY.code(code))
  if (peek && peek.clientId === client.client_id) await countForClient(ctx, req, client.client_id)
  // Single use: consumed before any further check, so a replayed or failed code is gone for good.
  const record = await ctx.store.take<CodeRecord>(KEY.code(code))
  if (!record || record.clientId !== client.client_id) {
    if (!record) await replayed(ctx, req, KEY.usedCode(code), 'authorization_code')
    throw new OAuthError('invalid_grant', 'the authorization code is invalid, expired or already used')
  }
  const redirectUri = param(form, 'redirect_uri')
  if (redirectUri === undefined && record.redirectUriGiven !== false) throw new OAuthError('invalid_request', 'redirect_uri is required: send the one used at /authorize')
  if (redirectUri !== undefined && redirectUri !== record.redirectUri) throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request')
  if (!safeEqual(createHash('sha256').update(verifier).digest('base64url'), record.codeChallenge)) throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge (PKCE)')
  const gid = randomToken(18)
  await ctx.grants.create(gid, {clientId: client.client_id, scope: record.scope, upstream: record.upstream})
  await ctx.store.set(KEY.usedCode(code), {clientId: client.client_id, gid} satisfies Tombstone, USED_CODE_TTL)
  // Keeps a registered client alive while it is used (metadata-document clients are not stored).
  if (!isMetadataDocumentClientId(client.client_id)) await ctx.store.set(KEY.client(client.client_id), client, CLIENT_TTL)
  return issueTokens(ctx, client.client_id, gid, record.scope, record.upstream)
}

async function refreshTokenGrant(ctx: FacadeContext, req: IncomingMessage, form: URLSearchParams, client: RegisteredClient): Promise<Record<string, unknown>> {
  const refreshToken = param(form, 'refresh_token')
  if (!refreshToken) throw new OAuthError('invalid_request', 'refresh_token is required')
  if (refreshToken.length > 200) throw new OAuthError('invalid_grant', 'the refresh token is invalid, expired or already used')
  const peek = await ctx.store.get<RefreshRecord>(KEY.refresh(refreshToken))
  if (peek && peek.clientId === client.client_id) await countForClient(ctx, req, client.client_id)
  // Rotation: the old refresh token is consumed; presenting it again ends the grant.
  const record = await ctx.store.take<RefreshRecord>(KEY.refresh(refreshToken))
  if (!record || record.clientId !== client.client_id) {
    if (!record) await replayed(ctx, req, KEY.usedRefresh(refreshToken), 'refresh_token')
    throw new OAuthError('invalid_grant', 'the refresh token is invalid, expired or already used')
  }
  await ctx.store.set(KEY.usedRefresh(refreshToken), {clientId: record.clientId, gid: record.gid} satisfies Tombstone, ctx.config.refreshTokenLifetimeSeconds)
  let grant = await ctx.grants.load(record.gid)
  if (grant) grant = await ctx.grants.fresh(record.gid, grant)
  if (!grant) throw new OAuthError('invalid_grant', 'the sign-in behind this refresh token has ended; sign in again')
  const requested = param(form, 'scope')
  const scope = requested ? requested.split(' ').filter((s) => record.scope.split(' ').includes(s)).join(' ') || record.scope : record.scope
  return issueTokens(ctx, client.client_id, record.gid, scope, grant.upstream)
}

/** POST /token: authorization_code (with PKCE) and refresh_token (rotated) grants. */
export const token: Endpoint = async (ctx, req, res, _url, method) => {
  allowMethods(method, ['POST'])
  const form = await readForm(req)
  const grantType = param(form, 'grant_type')
  const machineGrant = grantType === undefined ? undefined : MACHINE_GRANTS.get(grantType)
  if (machineGrant) return sendJson(res, 200, await machineGrant(ctx, req, form), CORS)
  const client = await ctx.loadClient(clientIdOf(req, form))
  if (!client) throw invalidClient('unknown client_id; register again')
  const resource = param(form, 'resource')
  if (resource !== undefined && !ctx.isOwnResource(resource)) throw new OAuthError('invalid_target', `resource must be ${ctx.resource}`)
  if (grantType === 'authorization_code') return sendJson(res, 200, await authorizationCodeGrant(ctx, req, form, client), CORS)
  if (grantType === 'refresh_token') return sendJson(res, 200, await refreshTokenGrant(ctx, req, form, client), CORS)
  throw new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code, refresh_token, client_credentials or urn:ietf:params:oauth:grant-type:token-exchange')
}
