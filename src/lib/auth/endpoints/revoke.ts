import type {Endpoint} from '../context.ts'
import {CORS, OAuthError, allowMethods, invalidClient, clientIdOf, param, readForm} from '../oauth-http.ts'
import {KEY, type RefreshRecord} from '../records.ts'

/** POST /revoke (RFC 7009): ends the whole sign-in behind an access or refresh token. */
export const revoke: Endpoint = async (ctx, req, res, _url, method) => {
  allowMethods(method, ['POST'])
  const form = await readForm(req)
  const token = param(form, 'token')
  const client = await ctx.loadClient(clientIdOf(req, form))
  if (!client) throw invalidClient('unknown client_id')
  if (!token) throw new OAuthError('invalid_request', 'token is required')
  let gid: string | undefined
  const refresh = await ctx.store.take<RefreshRecord>(KEY.refresh(token))
  if (refresh && refresh.clientId === client.client_id) gid = refresh.gid
  if (!gid) {
    const access = await ctx.issuer.verify(token).catch(() => undefined)
    if (access && access.client_id === client.client_id) gid = access.gid
  }
  if (gid) await ctx.grants.end(gid)
  // RFC 7009: unknown tokens are not an error.
  res.writeHead(200, {...CORS, 'cache-control': 'no-store'})
  res.end()
}
