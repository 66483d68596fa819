import {OAuthError} from './oauth-http.ts'

export function isLoopbackHostname(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname)
}

/** Exact match, except that a loopback redirect may use any port (RFC 8252 §7.3). */
export function redirectUriMatches(requested: string, registered: string): boolean {
  if (requested === registered) return true
  let a: URL
  let b: URL
  try {
    a = new URL(requested)
    b = new URL(registered)
  } catch {
    return false
  }
  if (!isLoopbackHostname(a.hostname) || a.protocol !== 'http:') return false
  return a.protocol === b.protocol && a.hostname === b.hostname && a.pathname === b.pathname && a.search === b.search && !a.username && !a.password && !b.username
}

/** https anywhere, http only to loopback, or a private-use scheme (reverse domain name, RFC 8252 §7.1). */
export function checkRedirectUri(uri: unknown): string {
  if (typeof uri !== 'string' || uri.length > 2000) throw new OAuthError('invalid_redirect_uri', 'each redirect_uri must be a string of at most 2000 characters')
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    throw new OAuthError('invalid_redirect_uri', `redirect_uri ${JSON.stringify(uri.slice(0, 100))} is not an absolute URL`)
  }
  if (url.hash || url.username || url.password) throw new OAuthError('invalid_redirect_uri', 'redirect_uri must not have a fragment or user information')
  if (url.protocol === 'https:') return uri
  if (url.protocol === 'http:' && isLoopbackHostname(url.hostname)) return uri
  if (/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol)) return uri
  throw new OAuthError('invalid_redirect_uri', `redirect_uri ${JSON.stringify(uri.slice(0, 100))} must use https, http on a loopback address, or a private-use scheme such as com.example.app:`)
}
