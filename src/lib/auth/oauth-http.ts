import type {IncomingMessage, ServerResponse} from 'node:http'
import {BodyError, readBodyWithin} from '../server/body.ts'
import {sendJson} from '../server/json-reply.ts'

/** An OAuth error answer (RFC 6749 §5.2): code, description, status and extra headers. */
export class OAuthError extends Error {
  readonly code: string
  readonly status: number
  readonly headers: Record<string, string>
  constructor(code: string, description: string, status = 400, headers: Record<string, string> = {}) {
    super(description)
    this.code = code
    this.status = status
    this.headers = headers
  }
}

export const CORS = {'access-control-allow-origin': '*'}

/**
 * 401 invalid_client. RFC 6749 §5.2: the answer names the authentication scheme (a client that
 * sent HTTP Basic credentials learns that they were not accepted, not just that something failed).
 */
export function invalidClient(description: string): OAuthError {
  return new OAuthError('invalid_client', description, 401, {'www-authenticate': 'Basic realm="kmcp", charset="UTF-8"', 'access-control-expose-headers': 'www-authenticate'})
}
export const MAX_FORM_BYTES = 16 * 1024

export function sendOAuthError(res: ServerResponse, error: OAuthError): void {
  sendJson(res, error.status, {error: error.code, error_description: error.message}, {...CORS, ...error.headers})
}

export function sendHtml(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ...headers,
  })
  res.end(html)
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(302, {location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...headers})
  res.end()
}

export function allowMethods(method: string, allowed: string[]): void {
  if (!allowed.includes(method)) throw new OAuthError('invalid_request', `use ${allowed.join(' or ')}`, 405)
}

export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  try {
    return (await readBodyWithin(req, limit)).toString('utf8')
  } catch (error) {
    if (!(error instanceof BodyError)) throw error
    // The rest of the body is never read: the connection must not be reused.
    throw new OAuthError('invalid_request', error.message, error.status, {connection: 'close'})
  }
}

export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  if (!String(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded')
  }
  return new URLSearchParams(await readBody(req, MAX_FORM_BYTES))
}

/** A single-valued parameter; repeating one is an error (RFC 6749 §3.1). */
export function param(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name)
  if (values.length > 1) throw new OAuthError('invalid_request', `parameter ${name} is repeated`)
  return values[0] === '' ? undefined : values[0]
}

/**
 * The client_id of a token or revocation request. kmcp's clients are public (registration answers
 * token_endpoint_auth_method "none" and issues no secret), but some clients still send HTTP Basic
 * credentials; their client_id is taken from there and the secret ignored, since PKCE (and the
 * refresh token itself) is what proves the client.
 */
export function clientIdOf(req: IncomingMessage, form: URLSearchParams): string | undefined {
  const fromBody = param(form, 'client_id')
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization?.trim() ?? '')
  if (!basic) return fromBody
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
  let fromHeader: string
  try {
    fromHeader = decodeURIComponent(decoded.slice(0, Math.max(0, decoded.indexOf(':'))))
  } catch {
    throw invalidClient('malformed Basic credentials')
  }
  if (fromBody !== undefined && fromBody !== fromHeader) throw invalidClient('client_id in the body and in the Authorization header differ')
  return fromHeader || fromBody
}
