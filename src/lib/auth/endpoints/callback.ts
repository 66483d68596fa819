import {log} from '../../server/logger.ts'
import {errorPage} from '../consent-page.ts'
import type {Endpoint} from '../context.ts'
import {identityOf} from '../identity.ts'
import {allowMethods, redirect, sendHtml} from '../oauth-http.ts'
import {CODE_TTL, KEY, randomToken, safeEqual, type CodeRecord, type Transaction} from '../records.ts'
import type {UpstreamTokens} from '../upstream.ts'

/** GET /auth/callback: the identity provider sends the browser back here after the sign-in. */
export const callback: Endpoint = async (ctx, req, res, url, method) => {
  allowMethods(method, ['GET'])
  const params = url.searchParams
  const txnId = params.get('state') ?? ''
  const txn = txnId && txnId.length <= 100 ? await ctx.store.get<Transaction>(KEY.txn(txnId)) : undefined
  const binding = ctx.cookies.read(req, 'kmcp-binding')
  if (!txn || !txn.consented || !binding || !safeEqual(binding, txnId)) {
    sendHtml(res, 400, errorPage('Sign-in not recognised', 'This sign-in did not start in this browser, has expired, or was already completed. Start again from your application.'))
    return
  }
  // Single use: a second callback with the same state finds nothing.
  if (!(await ctx.store.take<Transaction>(KEY.txn(txnId)))) {
    sendHtml(res, 400, errorPage('Sign-in already completed', 'Start again from your application.'))
    return
  }
  const clearBinding = {'set-cookie': ctx.cookies.clear('kmcp-binding')}
  const back = (extra: Record<string, string>) => {
    const target = new URL(txn.redirectUri)
    for (const [key, value] of Object.entries(extra)) target.searchParams.set(key, value)
    if (txn.state) target.searchParams.set('state', txn.state)
    target.searchParams.set('iss', ctx.config.publicUrl)
    redirect(res, target.toString(), clearBinding)
  }
  const iss = params.get('iss')
  if (iss !== null && iss !== ctx.config.issuer) {
    log.warn('identity provider callback names another issuer; refused (mix-up attack?)', {expected: ctx.config.issuer, got: iss.slice(0, 200)})
    return back({error: 'access_denied', error_description: 'the identity provider response came from an unexpected issuer'})
  }
  const upstreamError = params.get('error')
  if (upstreamError) {
    log.info('identity provider refused the sign-in', {error: upstreamError.slice(0, 100), description: params.get('error_description')?.slice(0, 300)})
    return back({error: upstreamError === 'access_denied' ? 'access_denied' : 'server_error', error_description: 'the identity provider did not complete the sign-in'})
  }
  const code = params.get('code')
  if (!code) return back({error: 'server_error', error_description: 'the identity provider returned no code'})
  let upstream: UpstreamTokens
  try {
    upstream = await ctx.upstream.exchangeCode(code, txn.upstreamVerifier, txn.nonce)
  } catch (error) {
    log.warn('upstream code exchange failed', {error: (error as Error).message})
    return back({error: 'server_error', error_description: 'kmcp could not complete the sign-in with the identity provider; see the kmcp logs'})
  }
  const who = identityOf(upstream, ctx.config, ctx.impersonate)
  if (!who.ok) {
    // Nothing is stored and no code goes back: the user sees why, the operator sees who.
    log.warn('sign-in refused', {reason: who.reason, issuer: upstream.claims.iss, sub: upstream.claims.sub, client_id: txn.clientId})
    await ctx.upstream.revoke(upstream).catch(() => undefined)
    sendHtml(res, 403, errorPage('Not allowed', `You signed in, but ${who.reason}.`), clearBinding)
    return
  }
  const ourCode = randomToken()
  await ctx.store.set(KEY.code(ourCode), {clientId: txn.clientId, redirectUri: txn.redirectUri, redirectUriGiven: txn.redirectUriGiven, codeChallenge: txn.codeChallenge, scope: txn.scope, upstream} satisfies CodeRecord, CODE_TTL)
  log.info('user signed in', {user: who.identity.userId, subject: who.identity.subject, groups: who.identity.groups, admin: who.identity.isAdmin, client_id: txn.clientId})
  back({code: ourCode})
}
