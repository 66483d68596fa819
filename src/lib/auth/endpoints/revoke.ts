import type {IncomingMessage, ServerResponse} from 'node:http'
import {log} from '../../server/logger.ts'
import type {Endpoint, FacadeContext} from '../context.ts'
import {CORS, OAuthError, allowMethods, invalidClient, clientIdOf, param, readForm} from '../oauth-http.ts'
import {KEY, type RefreshRecord} from '../records.ts'
import {authenticateMachineClient, carriesMachineCredentials} from './token-client-credentials.ts'

function revoked(res: ServerResponse): void {
  // RFC 7009 §2.2: 200 also for a token that is unknown, expired or already revoked.
  res.writeHead(200, {...CORS, 'cache-control': 'no-store'})
  res.end()
}

/**
 * A token kmcp issued to a machine caller: ends its grant, so every replica refuses it (the grant
 * lives in the shared store; replicas cache it for at most a second). A machine client's token
 * needs that client's credentials; an exchanged token has no client, and whoever holds it may
 * revoke it (RFC 7009 §5: revoking what one holds only takes rights away).
 */
async function revokeMachineToken(ctx: FacadeContext, req: IncomingMessage, token: string, clientId: string | undefined): Promise<void> {
  const access = await ctx.issuer.verify(token).catch(() => undefined)
  if (!access) return
  const grant = await ctx.grants.load(access.gid)
  const machine = grant?.machine
  if (!grant || !machine || grant.clientId !== access.client_id) return
  if (machine.kind === 'machine_client' ? access.client_id !== clientId : clientId !== undefined) return
  await ctx.grants.end(access.gid)
  log.record('audit', {event: 'machine_token_revoked', [machine.kind]: machine.name, subject: machine.username, client_address: ctx.clientAddress(req)})
}

/** POST /revoke (RFC 7009): ends the whole sign-in behind an access or refresh token, or a machine caller's token. */
export const revoke: Endpoint = async (ctx, req, res, _url, method) => {
  allowMethods(method, ['POST'])
  const form = await readForm(req)
  const token = param(form, 'token')
  if (carriesMachineCredentials(ctx, req, form)) {
    const client = await authenticateMachineClient(ctx, req, form)
    if (!token) throw new OAuthError('invalid_request', 'token is required')
    await revokeMachineToken(ctx, req, token, client.clientId)
    return revoked(res)
  }
  const clientId = clientIdOf(req, form)
  if (clientId === undefined && ctx.workloads.enabled) {
    if (!token) throw new OAuthError('invalid_request', 'token is required')
    await revokeMachineToken(ctx, req, token, undefined)
    return revoked(res)
  }
  const client = await ctx.loadClient(clientId)
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
  revoked(res)
}
