import {createHash} from 'node:crypto'
import {sendJson} from '../../server/json-reply.ts'
import {isMetadataDocumentClientId} from '../client-metadata.ts'
import type {Endpoint, FacadeContext} from '../context.ts'
import {CORS, OAuthError, allowMethods, clientIdOf, param, readForm} from '../oauth-http.ts'
import {CLIENT_TTL, KEY, randomToken, safeEqual, type CodeRecord, type RefreshRecord, type RegisteredClient} from '../records.ts'
import type {UpstreamTokens} from '../upstream.ts'

async function issueTokens(ctx: FacadeContext, clientId: string, gid: string, scope: string, upstream: UpstreamTokens): Promise<Record<string, unknown>> {
  const lifetime = Math.min(ctx.config.accessTokenLifetimeSeconds, ctx.config.refreshTokenLifetimeSeconds)
  const access = await ctx.issuer.mint({sub: upstream.claims.sub, client_id: clientId, scope, gid}, lifetime)
  const refreshToken = randomToken()
  await ctx.store.set(KEY.refresh(refreshToken), {clientId, gid, scope} satisfies RefreshRecord, ctx.config.refreshTokenLifetimeSeconds)
  return {access_token: access.token, token_type: 'Bearer', expires_in: lifetime, refresh_token: refreshToken, scope}
}

async function authorizationCodeGrant(ctx: FacadeContext, form: URLSearchParams, client: RegisteredClient): Promise<Record<string, unknown>> {
  const code = param(form, 'code')
  const verifier = param(form, 'code_verifier')
  if (!code) throw new OAuthError('invalid_request', 'code is required')
  if (!verifier) throw new OAuthError('invalid_request', 'code_verifier is required (PKCE)')
  // Single use: consumed before any check, so a replayed or failed code is gone for good.
  const record = await ctx.store.take<CodeRecord>(KEY.code(code))
  if (!record || record.clientId !== client.client_id) throw new OAuthError('invalid_grant', 'the authorization code is invalid, expired or already used')
  const redirectUri = param(form, 'redirect_uri')
  if (redirectUri !== undefined && redirectUri !== record.redirectUri) throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request')
  if (!safeEqual(createHash('sha256').update(verifier).digest('base64url'), record.codeChallenge)) throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge (PKCE)')
  const gid = randomToken(18)
  await ctx.grants.create(gid, {clientId: client.client_id, scope: record.scope, upstream: record.upstream})
  // Keeps a registered client alive while it is used (metadata-document clients are not stored).
  if (!isMetadataDocumentClientId(client.client_id)) await ctx.store.set(KEY.client(client.client_id), client, CLIENT_TTL)
  return issueTokens(ctx, client.client_id, gid, record.scope, record.upstream)
}

async function refreshTokenGrant(ctx: FacadeContext, form: URLSearchParams, client: RegisteredClient): Promise<Record<string, unknown>> {
  const refreshToken = param(form, 'refresh_token')
  if (!refreshToken) throw new OAuthError('invalid_request', 'refresh_token is required')
  // Rotation: the old refresh token is consumed; presenting it again fails.
  const record = await ctx.store.take<RefreshRecord>(KEY.refresh(refreshToken))
  if (!record || record.clientId !== client.client_id) throw new OAuthError('invalid_grant', 'the refresh token is invalid, expired or already used')
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
  const clientId = clientIdOf(req, form)
  if (clientId) await ctx.limit('token_per_client', clientId, {route: '/token', client_address: ctx.clientAddress(req), client_id: clientId.slice(0, 200)})
  const client = await ctx.loadClient(clientId)
  if (!client) throw new OAuthError('invalid_client', 'unknown client_id; register again', 401)
  const resource = param(form, 'resource')
  if (resource !== undefined && !ctx.isOwnResource(resource)) throw new OAuthError('invalid_target', `resource must be ${ctx.resource}`)
  if (grantType === 'authorization_code') return sendJson(res, 200, await authorizationCodeGrant(ctx, form, client), CORS)
  if (grantType === 'refresh_token') return sendJson(res, 200, await refreshTokenGrant(ctx, form, client), CORS)
  throw new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token')
}
