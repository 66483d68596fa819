import {randomUUID} from 'node:crypto'
import {log} from '../../server/logger.ts'
import {sendJson} from '../../server/json-reply.ts'
import type {Endpoint} from '../context.ts'
import {CORS, MAX_FORM_BYTES, OAuthError, allowMethods, readBody} from '../oauth-http.ts'
import {CLIENT_TTL, KEY, type RegisteredClient} from '../records.ts'
import {checkRedirectUri} from '../redirect-uri.ts'

const MAX_REDIRECT_URIS = 10

/** Dynamic client registration (RFC 7591): public clients only. */
export const register: Endpoint = async (ctx, req, res, _url, method) => {
  allowMethods(method, ['POST'])
  let metadata: Record<string, unknown>
  try {
    const body = JSON.parse(await readBody(req, MAX_FORM_BYTES)) as unknown
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object')
    metadata = body as Record<string, unknown>
  } catch (error) {
    if (error instanceof OAuthError) throw error
    throw new OAuthError('invalid_client_metadata', 'the body must be a JSON object of client metadata (RFC 7591)')
  }
  const redirectUris = metadata.redirect_uris
  if (!Array.isArray(redirectUris) || redirectUris.length === 0 || redirectUris.length > MAX_REDIRECT_URIS) {
    throw new OAuthError('invalid_redirect_uri', `redirect_uris must list 1 to ${MAX_REDIRECT_URIS} URIs`)
  }
  const grantTypes = (metadata.grant_types as unknown[] | undefined) ?? ['authorization_code', 'refresh_token']
  if (!Array.isArray(grantTypes) || grantTypes.some((g) => g !== 'authorization_code' && g !== 'refresh_token')) {
    throw new OAuthError('invalid_client_metadata', 'grant_types may only contain authorization_code and refresh_token')
  }
  const responseTypes = (metadata.response_types as unknown[] | undefined) ?? ['code']
  if (!Array.isArray(responseTypes) || responseTypes.some((r) => r !== 'code')) throw new OAuthError('invalid_client_metadata', 'response_types may only contain code')
  const name = metadata.client_name
  if (name !== undefined && (typeof name !== 'string' || name.length > 200)) throw new OAuthError('invalid_client_metadata', 'client_name must be a string of at most 200 characters')
  const uris = redirectUris.map(checkRedirectUri)
  const applicationType = metadata.application_type === 'web' ? 'web' : metadata.application_type === 'native' || metadata.application_type === undefined ? (uris.every((u) => u.startsWith('https:')) ? 'web' : 'native') : undefined
  if (!applicationType) throw new OAuthError('invalid_client_metadata', 'application_type must be native or web')
  const client: RegisteredClient = {
    client_id: randomUUID(),
    client_id_issued_at: Math.floor(Date.now() / 1000),
    client_name: typeof name === 'string' && name.trim() ? name.trim() : undefined,
    redirect_uris: uris,
    grant_types: grantTypes as string[],
    response_types: ['code'],
    // Public clients only: kmcp hands out no client secrets (PKCE protects the code).
    token_endpoint_auth_method: 'none',
    application_type: applicationType,
    scope: ctx.config.mcpScopes.join(' '),
  }
  await ctx.store.set(KEY.client(client.client_id), client, CLIENT_TTL)
  log.info('OAuth client registered', {client_id: client.client_id, client_name: client.client_name, redirect_hosts: uris.map((u) => new URL(u).host)})
  sendJson(res, 201, client, CORS)
}
