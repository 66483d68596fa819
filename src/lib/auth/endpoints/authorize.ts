import {createHash} from 'node:crypto'
import type {ServerResponse} from 'node:http'
import {consentPage, errorPage} from '../consent-page.ts'
import type {Endpoint, FacadeContext} from '../context.ts'
import {allowMethods, param, readForm, redirect, sendHtml} from '../oauth-http.ts'
import {KEY, TXN_TTL, randomToken, safeEqual, type Transaction} from '../records.ts'
import {redirectUriMatches} from '../redirect-uri.ts'
import {TOOL_TIER_SCOPES} from '../../tools/policy/modes.ts'

/**
 * Unknown scopes are ignored; the MCP scopes are always granted (there are no optional ones). The
 * tool tiers a client asks for (cnpg:read, cnpg:write, cnpg:admin) are granted as asked: they narrow
 * the session's tools, and the user's scope_groups cap them when the token is used (server/scopes.ts).
 */
function grantedScope(ctx: FacadeContext, requested: string | undefined): string | undefined {
  const asked = (requested ?? '').split(' ').filter(Boolean)
  const tiers = asked.filter((s) => TOOL_TIER_SCOPES.includes(s))
  if (asked.length > 0 && !asked.some((s) => ctx.config.mcpScopes.includes(s) || tiers.includes(s) || ['openid', 'profile', 'email', 'offline_access'].includes(s))) return undefined
  return [...ctx.config.mcpScopes, ...new Set(tiers)].join(' ')
}

/** Sends the browser back to the client with an error (only once the client and redirect URI are genuine). */
function redirectError(ctx: FacadeContext, res: ServerResponse, redirectUri: string, state: string | undefined, error: string, description: string, headers: Record<string, string> = {}): void {
  const target = new URL(redirectUri)
  target.searchParams.set('error', error)
  target.searchParams.set('error_description', description)
  if (state) target.searchParams.set('state', state)
  target.searchParams.set('iss', ctx.config.publicUrl)
  redirect(res, target.toString(), headers)
}

/** GET /authorize: checks the request, stores a transaction, and shows the consent page next. */
export const authorize: Endpoint = async (ctx, _req, res, url, method) => {
  allowMethods(method, ['GET'])
  const params = url.searchParams
  let clientId: string | undefined
  let requestedRedirect: string | undefined
  try {
    clientId = param(params, 'client_id')
    requestedRedirect = param(params, 'redirect_uri')
  } catch (error) {
    sendHtml(res, 400, errorPage('Invalid request', (error as Error).message))
    return
  }
  // Until the client and its redirect URI are known to be genuine, errors are shown here and
  // never redirected (anything else would be an open redirect).
  const client = await ctx.loadClient(clientId)
  if (!client) {
    sendHtml(res, 400, errorPage('Unknown application', 'This application is not registered with kmcp (unknown client_id). Ask it to register again.'))
    return
  }
  let redirectUri: string
  if (requestedRedirect) {
    if (!client.redirect_uris.some((r) => redirectUriMatches(requestedRedirect, r))) {
      sendHtml(res, 400, errorPage('Invalid redirect', 'The redirect_uri is not one this application registered.'))
      return
    }
    redirectUri = requestedRedirect
  } else if (client.redirect_uris.length === 1) {
    redirectUri = client.redirect_uris[0]
  } else {
    sendHtml(res, 400, errorPage('Invalid request', 'redirect_uri is required because this application registered several.'))
    return
  }
  const state = params.get('state') ?? undefined
  // RFC 9700 §4.11.2: a client anyone can register must not turn kmcp into a redirector, so a
  // request that fails validation is answered here, never sent to the redirect URI.
  const fail = (error: string, description: string) => sendHtml(res, 400, errorPage('Invalid sign-in request', `${description} (${error}). The application sent a request kmcp cannot accept; report this to its developers.`))
  let responseType: string | undefined
  let codeChallenge: string | undefined
  let challengeMethod: string | undefined
  let resource: string | undefined
  try {
    responseType = param(params, 'response_type')
    codeChallenge = param(params, 'code_challenge')
    challengeMethod = param(params, 'code_challenge_method')
    resource = param(params, 'resource')
  } catch (error) {
    fail('invalid_request', (error as Error).message)
    return
  }
  if (responseType !== 'code') return fail('unsupported_response_type', 'response_type must be code')
  if (!codeChallenge || challengeMethod !== 'S256') return fail('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256')
  if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) return fail('invalid_request', 'code_challenge must be a base64url SHA-256 (43 characters)')
  if (state && state.length > 1000) return fail('invalid_request', 'state is too long')
  if (resource !== undefined && !ctx.isOwnResource(resource)) return fail('invalid_target', `resource must be ${ctx.resource}`)
  const scope = grantedScope(ctx, param(params, 'scope'))
  if (!scope) return fail('invalid_scope', `this server only grants ${ctx.config.mcpScopes.join(' ')}`)

  const txnId = randomToken()
  const upstreamVerifier = randomToken()
  await ctx.store.set(KEY.txn(txnId), {clientId: client.client_id, redirectUri, redirectUriGiven: requestedRedirect !== undefined, state, codeChallenge, scope, upstreamVerifier, nonce: randomToken(16)} satisfies Transaction, TXN_TTL)
  redirect(res, `${ctx.config.publicUrl}/consent?txn=${encodeURIComponent(txnId)}`)
}

/** GET /consent shows the page; POST /consent is the user's decision. */
export const consent: Endpoint = async (ctx, req, res, url, method) => {
  allowMethods(method, ['GET', 'POST'])
  if (method === 'GET') {
    const txnId = url.searchParams.get('txn') ?? ''
    const txn = txnId.length <= 100 ? await ctx.store.get<Transaction>(KEY.txn(txnId)) : undefined
    if (!txn || txn.consented) {
      sendHtml(res, 400, errorPage('Sign-in expired', 'This sign-in link has expired or was already used. Start again from your application.'))
      return
    }
    const client = await ctx.loadClient(txn.clientId)
    if (!client) {
      sendHtml(res, 400, errorPage('Unknown application', 'The application that started this sign-in is no longer registered.'))
      return
    }
    const csrf = randomToken()
    await ctx.store.set(KEY.txn(txnId), {...txn, csrf}, TXN_TTL)
    sendHtml(
      res,
      200,
      consentPage({clientName: client.client_name ?? 'An unnamed application', clientId: client.client_id, redirectUri: txn.redirectUri, scopes: txn.scope.split(' '), txn: txnId, csrf, serverUrl: ctx.resource}),
      {'set-cookie': ctx.cookies.serialize('kmcp-consent', `${txnId}.${csrf}`, TXN_TTL)},
    )
    return
  }
  // POST: the user's decision. Double-submit CSRF: the signed cookie, the form and the stored
  // transaction must all carry the same token, and the form must come from our own origin.
  const origin = req.headers.origin
  if (origin !== undefined && origin !== new URL(ctx.config.publicUrl).origin) {
    sendHtml(res, 403, errorPage('Refused', 'The consent form was submitted from another site.'))
    return
  }
  const form = await readForm(req)
  const txnId = form.get('txn') ?? ''
  const csrf = form.get('csrf') ?? ''
  const cookie = ctx.cookies.read(req, 'kmcp-consent')
  const txn = txnId && txnId.length <= 100 ? await ctx.store.get<Transaction>(KEY.txn(txnId)) : undefined
  if (!txn || !txn.csrf || txn.consented || !cookie || !safeEqual(cookie, `${txnId}.${csrf}`) || !safeEqual(csrf, txn.csrf)) {
    sendHtml(res, 403, errorPage('Refused', 'This consent form is not valid in this browser (expired, already used, or not the one kmcp showed you). Start again from your application.'))
    return
  }
  if (form.get('decision') !== 'approve') {
    await ctx.store.del(KEY.txn(txnId))
    redirectError(ctx, res, txn.redirectUri, txn.state, 'access_denied', 'the user denied access', {'set-cookie': ctx.cookies.clear('kmcp-consent')})
    return
  }
  await ctx.store.set(KEY.txn(txnId), {...txn, consented: true}, TXN_TTL)
  const upstreamUrl = await ctx.upstream.authorizeUrl({state: txnId, codeChallenge: createHash('sha256').update(txn.upstreamVerifier).digest('base64url'), nonce: txn.nonce})
  redirect(res, upstreamUrl, {'set-cookie': [ctx.cookies.clear('kmcp-consent'), ctx.cookies.serialize('kmcp-binding', txnId, TXN_TTL)]})
}
