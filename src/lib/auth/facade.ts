import {createHash, randomBytes, randomUUID, timingSafeEqual} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {AuthInfo} from '@modelcontextprotocol/sdk/server/auth/types.js'
import type {CallerIdentity} from '../tools/registry.ts'
import type {EncryptedStore} from '../storage/encrypted.ts'
import {log} from '../server/logger.ts'
import type {AuthConfig} from './config.ts'
import {consentPage, errorPage} from './consent-page.ts'
import {ClientMetadataDocuments, isMetadataDocumentClientId} from './client-metadata.ts'
import {CookieSigner} from './cookies.ts'
import {RateLimiter, type RateLimitName} from './rate-limit.ts'
import {AccessTokenIssuer} from './tokens.ts'
import {UpstreamError, type UpstreamProvider, type UpstreamTokens} from './upstream.ts'
import {userIdFor} from './user-hash.ts'

/** Redis key prefixes and lifetimes (seconds). Secrets are never part of a key: codes and refresh tokens are hashed. */
const KEY = {
  client: (id: string) => `mcp:oauth:client:${id}`,
  txn: (id: string) => `mcp:oauth:txn:${id}`,
  code: (code: string) => `mcp:oauth:code:${sha256(code)}`,
  grant: (id: string) => `mcp:oauth:grant:${id}`,
  refresh: (token: string) => `mcp:oauth:refresh:${sha256(token)}`,
}
const CLIENT_TTL = 90 * 24 * 3600
const TXN_TTL = 15 * 60
const CODE_TTL = 5 * 60
/** Renew the upstream access token this long before it expires. */
const UPSTREAM_EXPIRY_MARGIN_MS = 30_000
const MAX_FORM_BYTES = 16 * 1024
const MAX_REDIRECT_URIS = 10
const GRANT_CACHE_MS = 1000
const GRANT_CACHE_SIZE = 10_000

interface RegisteredClient {
  client_id: string
  client_id_issued_at: number
  client_name?: string
  redirect_uris: string[]
  grant_types: string[]
  response_types: string[]
  token_endpoint_auth_method: 'none'
  application_type: 'native' | 'web'
  scope?: string
}

/** An /authorize request waiting for consent and the upstream sign-in. */
interface Transaction {
  clientId: string
  redirectUri: string
  state?: string
  codeChallenge: string
  scope: string
  upstreamVerifier: string
  nonce: string
  csrf?: string
  consented?: boolean
}

interface CodeRecord {
  clientId: string
  redirectUri: string
  codeChallenge: string
  scope: string
  upstream: UpstreamTokens
}

/** One sign-in: the upstream tokens plus who it is. Every kmcp token points at one grant. */
interface Grant {
  clientId: string
  scope: string
  upstream: UpstreamTokens
}

interface RefreshRecord {
  clientId: string
  gid: string
  scope: string
}

class OAuthError extends Error {
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

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function isLoopbackHostname(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname)
}

/** Exact match, except that a loopback redirect may use any port (RFC 8252 §7.3). */
function redirectUriMatches(requested: string, registered: string): boolean {
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
function checkRedirectUri(uri: unknown): string {
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

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, {'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache', ...headers})
  res.end(JSON.stringify(body))
}

function sendOAuthError(res: ServerResponse, error: OAuthError): void {
  sendJson(res, error.status, {error: error.code, error_description: error.message}, {...CORS, ...error.headers})
}

function sendHtml(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
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

function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(302, {location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...headers})
  res.end()
}

const CORS = {'access-control-allow-origin': '*'}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'])
  if (declared > limit) throw new OAuthError('invalid_request', `request body larger than ${limit} bytes`, 413)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new OAuthError('invalid_request', `request body larger than ${limit} bytes`, 413)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  if (!String(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded')
  }
  return new URLSearchParams(await readBody(req, MAX_FORM_BYTES))
}

/** A single-valued parameter; repeating one is an error (RFC 6749 §3.1). */
function param(params: URLSearchParams, name: string): string | undefined {
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
function clientIdOf(req: IncomingMessage, form: URLSearchParams): string | undefined {
  const fromBody = param(form, 'client_id')
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization?.trim() ?? '')
  if (!basic) return fromBody
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
  let fromHeader: string
  try {
    fromHeader = decodeURIComponent(decoded.slice(0, Math.max(0, decoded.indexOf(':'))))
  } catch {
    throw new OAuthError('invalid_client', 'malformed Basic credentials', 401)
  }
  if (fromBody !== undefined && fromBody !== fromHeader) throw new OAuthError('invalid_client', 'client_id in the body and in the Authorization header differ', 401)
  return fromHeader || fromBody
}

export interface FacadeOptions {
  config: AuthConfig
  store: EncryptedStore
  upstream: UpstreamProvider
  /** Path of the MCP endpoint, e.g. /mcp. */
  mcpPath: string
  /** --impersonate: Kubernetes requests carry the caller's identity. */
  impersonate: boolean
}

/**
 * kmcp's OAuth 2.1 authorization server in front of the upstream identity provider (the MCP
 * authorization spec's "third-party authorization" pattern): it registers MCP clients itself,
 * asks the user's consent per client, signs the user in upstream with its own client and PKCE,
 * and issues its own tokens bound to the stored upstream grant. Upstream tokens never leave the
 * server, and kmcp's tokens are never sent upstream.
 */
export class OAuthFacade {
  private readonly config: AuthConfig
  private readonly store: EncryptedStore
  private readonly upstream: UpstreamProvider
  private readonly issuer: AccessTokenIssuer
  private readonly cookies: CookieSigner
  private readonly impersonate: boolean
  /** The MCP endpoint's path; empty when it is the root. */
  private readonly mcpPath: string
  readonly resource: string
  readonly resourceMetadataUrl: string
  /** Upstream refreshes in progress in this process, so concurrent requests share one. */
  private readonly refreshing = new Map<string, Promise<Grant | undefined>>()
  /**
   * Sign-ins read in the last GRANT_CACHE_MS: a burst of MCP requests costs one storage read.
   * A revocation takes effect at once on the replica that handles it, and on the others within
   * GRANT_CACHE_MS.
   */
  private readonly recentGrants = new Map<string, {grant: Grant; until: number}>()
  private readonly identities = new WeakMap<Grant, CallerIdentity>()
  private readonly metadataDocuments: ClientMetadataDocuments
  private readonly rateLimiter: RateLimiter

  constructor(options: FacadeOptions) {
    this.config = options.config
    this.store = options.store
    this.upstream = options.upstream
    this.impersonate = options.impersonate
    const mcpPath = options.mcpPath === '/' ? '' : options.mcpPath
    this.resource = `${this.config.publicUrl}${mcpPath}`
    this.resourceMetadataUrl = `${this.config.publicUrl}/.well-known/oauth-protected-resource${mcpPath}`
    this.issuer = new AccessTokenIssuer({keys: this.config.signingKeys, issuer: this.config.publicUrl, audience: this.resource})
    this.cookies = new CookieSigner(this.config.signingKeys[0].key, this.config.publicUrl.startsWith('https:'))
    this.mcpPath = mcpPath
    this.metadataDocuments = new ClientMetadataDocuments(this.config.cimdAllowedHosts)
    this.rateLimiter = new RateLimiter(this.store, this.config.rateLimits, this.config.trustedProxies)
  }

  // ---------------------------------------------------------------- routing

  async handleRoute(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname.replace(/\/+$/, '') || '/'
    const method = req.method ?? 'GET'
    const route = this.routeFor(path)
    if (!route) {
      // CORS preflight for the MCP endpoint must not need a token (browsers send none).
      if (method === 'OPTIONS' && (path === this.mcpPath || path === '/')) {
        this.preflight(res)
        return true
      }
      return false
    }
    if (method === 'OPTIONS') {
      this.preflight(res)
      return true
    }
    try {
      await this.limitByAddress(req, path, method)
      await route.call(this, req, res, url, method)
    } catch (error) {
      if (res.headersSent) {
        res.end()
      } else if (error instanceof OAuthError) {
        sendOAuthError(res, error)
      } else if (error instanceof UpstreamError) {
        log.warn('identity provider request failed', {route: path, error: error.message})
        sendOAuthError(res, new OAuthError('temporarily_unavailable', 'the identity provider could not be reached or refused the request; see the kmcp logs', 503))
      } else {
        log.error('OAuth endpoint failed', {route: path, error: error instanceof Error ? error.message : String(error)})
        sendOAuthError(res, isStorageError(error) ? new OAuthError('temporarily_unavailable', 'kmcp cannot reach its token storage; try again shortly', 503) : new OAuthError('server_error', 'internal error; see the kmcp logs', 500))
      }
    }
    return true
  }

  private preflight(res: ServerResponse): void {
    res.writeHead(204, {
      ...CORS,
      'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
      'access-control-allow-headers': 'authorization, content-type, mcp-session-id, mcp-protocol-version, last-event-id',
      'access-control-expose-headers': 'mcp-session-id, www-authenticate',
      'access-control-max-age': '600',
    })
    res.end()
  }

  private routeFor(path: string): ((req: IncomingMessage, res: ServerResponse, url: URL, method: string) => Promise<void>) | undefined {
    const prm = '/.well-known/oauth-protected-resource'
    if (path === prm || path === `${prm}${this.mcpPath}` || path === `${this.mcpPath}${prm}`) return this.protectedResourceMetadata
    if (path === '/.well-known/oauth-authorization-server' || path === '/.well-known/openid-configuration' || path === `${this.mcpPath}/.well-known/oauth-authorization-server` || path === `${this.mcpPath}/.well-known/openid-configuration`) {
      return this.authorizationServerMetadata
    }
    switch (path) {
      case '/register':
        return this.register
      case '/authorize':
        return this.authorize
      case '/consent':
        return this.consent
      case '/auth/callback':
        return this.callback
      case '/token':
        return this.token
      case '/revoke':
        return this.revoke
      default:
        return undefined
    }
  }

  /** The per-address limits of rate_limits, checked before a request is read. */
  private async limitByAddress(req: IncomingMessage, path: string, method: string): Promise<void> {
    let limit: RateLimitName | undefined
    if (path === '/register') limit = 'register_per_ip'
    else if (path === '/token') limit = 'token_per_ip'
    // The consent page (GET) follows every /authorize; only the decision (POST) counts.
    else if (path === '/authorize' || (path === '/consent' && method === 'POST')) limit = 'authorize_per_ip'
    if (!limit) return
    const address = this.rateLimiter.clientAddress(req)
    await this.limit(limit, address, {route: path, client_address: address})
  }

  /**
   * Counts the request and refuses it once the limit is reached: 429 with Retry-After and
   * `temporarily_unavailable` (RFC 6749 §4.1.2.1 and §5.2's convention for "try again later";
   * RFC 8628's slow_down belongs to device-code polling, which kmcp does not offer).
   */
  private async limit(limit: RateLimitName, subject: string, logContext: Record<string, string>): Promise<void> {
    const refused = await this.rateLimiter.hit(limit, subject, logContext)
    if (!refused) return
    throw new OAuthError('temporarily_unavailable', `too many requests (rate_limits.${limit}); try again in ${refused.retryAfterSeconds} s`, 429, {'retry-after': String(refused.retryAfterSeconds)})
  }

  private allow(method: string, allowed: string[]): void {
    if (!allowed.includes(method)) throw new OAuthError('invalid_request', `use ${allowed.join(' or ')}`, 405)
  }

  // ---------------------------------------------------------------- metadata

  private async protectedResourceMetadata(_req: IncomingMessage, res: ServerResponse, _url: URL, method: string): Promise<void> {
    this.allow(method, ['GET', 'HEAD'])
    sendJson(
      res,
      200,
      {
        resource: this.resource,
        authorization_servers: [this.config.publicUrl],
        scopes_supported: this.config.mcpScopes,
        bearer_methods_supported: ['header'],
        resource_name: 'kmcp',
      },
      {...CORS, 'cache-control': 'public, max-age=300'},
    )
  }

  private async authorizationServerMetadata(_req: IncomingMessage, res: ServerResponse, _url: URL, method: string): Promise<void> {
    this.allow(method, ['GET', 'HEAD'])
    const base = this.config.publicUrl
    sendJson(
      res,
      200,
      {
        issuer: base,
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`,
        registration_endpoint: `${base}/register`,
        revocation_endpoint: `${base}/revoke`,
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none'],
        revocation_endpoint_auth_methods_supported: ['none'],
        scopes_supported: this.config.mcpScopes,
        authorization_response_iss_parameter_supported: true,
        client_id_metadata_document_supported: this.metadataDocuments.enabled,
      },
      {...CORS, 'cache-control': 'public, max-age=300'},
    )
  }

  // ---------------------------------------------------------------- registration (RFC 7591)

  private async register(req: IncomingMessage, res: ServerResponse, _url: URL, method: string): Promise<void> {
    this.allow(method, ['POST'])
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
      scope: this.config.mcpScopes.join(' '),
    }
    await this.store.set(KEY.client(client.client_id), client, CLIENT_TTL)
    log.info('OAuth client registered', {client_id: client.client_id, client_name: client.client_name, redirect_hosts: uris.map((u) => new URL(u).host)})
    sendJson(res, 201, client, CORS)
  }

  /** A registered client, or one described by its client ID metadata document. */
  private async loadClient(clientId: string | undefined): Promise<RegisteredClient | undefined> {
    if (!clientId || clientId.length > 2000) return undefined
    if (isMetadataDocumentClientId(clientId)) {
      const document = await this.metadataDocuments.load(clientId)
      if (!document) return undefined
      try {
        const uris = document.redirect_uris.map(checkRedirectUri)
        return {
          client_id: document.client_id,
          client_id_issued_at: 0,
          client_name: document.client_name,
          redirect_uris: uris,
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
          application_type: uris.every((u) => u.startsWith('https:')) ? 'web' : 'native',
        }
      } catch (error) {
        log.warn('client metadata document refused', {client_id: clientId.slice(0, 200), reason: (error as Error).message})
        return undefined
      }
    }
    if (clientId.length > 100) return undefined
    return this.store.get<RegisteredClient>(KEY.client(clientId))
  }

  // ---------------------------------------------------------------- /authorize

  private async authorize(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    this.allow(method, ['GET'])
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
    const client = await this.loadClient(clientId)
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
    const fail = (error: string, description: string) => {
      const target = new URL(redirectUri)
      target.searchParams.set('error', error)
      target.searchParams.set('error_description', description)
      if (state) target.searchParams.set('state', state)
      target.searchParams.set('iss', this.config.publicUrl)
      redirect(res, target.toString())
    }
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
    if (resource !== undefined && !this.isOwnResource(resource)) return fail('invalid_target', `resource must be ${this.resource}`)
    const scope = this.grantedScope(param(params, 'scope'))
    if (!scope) return fail('invalid_scope', `this server only grants ${this.config.mcpScopes.join(' ')}`)

    const txnId = randomToken()
    const upstreamVerifier = randomToken()
    await this.store.set(
      KEY.txn(txnId),
      {clientId: client.client_id, redirectUri, state, codeChallenge, scope, upstreamVerifier, nonce: randomToken(16)} satisfies Transaction,
      TXN_TTL,
    )
    redirect(res, `${this.config.publicUrl}/consent?txn=${encodeURIComponent(txnId)}`)
  }

  /** RFC 8707: the resource must be this MCP endpoint (trailing slash and case of scheme/host ignored). */
  private isOwnResource(resource: string): boolean {
    try {
      const given = new URL(resource)
      const own = new URL(this.resource)
      if (given.hash) return false
      return given.origin === own.origin && given.pathname.replace(/\/+$/, '') === own.pathname.replace(/\/+$/, '') && given.search === own.search
    } catch {
      return false
    }
  }

  /** Unknown scopes are ignored; the MCP scopes are always granted (there are no optional ones). */
  private grantedScope(requested: string | undefined): string | undefined {
    const asked = (requested ?? '').split(' ').filter(Boolean)
    if (asked.length > 0 && !asked.some((s) => this.config.mcpScopes.includes(s) || ['openid', 'profile', 'email', 'offline_access'].includes(s))) return undefined
    return this.config.mcpScopes.join(' ')
  }

  // ---------------------------------------------------------------- /consent

  private async consent(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    this.allow(method, ['GET', 'POST'])
    if (method === 'GET') {
      const txnId = url.searchParams.get('txn') ?? ''
      const txn = txnId.length <= 100 ? await this.store.get<Transaction>(KEY.txn(txnId)) : undefined
      if (!txn || txn.consented) {
        sendHtml(res, 400, errorPage('Sign-in expired', 'This sign-in link has expired or was already used. Start again from your application.'))
        return
      }
      const client = await this.loadClient(txn.clientId)
      if (!client) {
        sendHtml(res, 400, errorPage('Unknown application', 'The application that started this sign-in is no longer registered.'))
        return
      }
      const csrf = randomToken()
      await this.store.set(KEY.txn(txnId), {...txn, csrf}, TXN_TTL)
      sendHtml(
        res,
        200,
        consentPage({clientName: client.client_name ?? 'An unnamed application', clientId: client.client_id, redirectUri: txn.redirectUri, scopes: txn.scope.split(' '), txn: txnId, csrf, serverUrl: this.resource}),
        {'set-cookie': this.cookies.serialize('kmcp-consent', `${txnId}.${csrf}`, TXN_TTL)},
      )
      return
    }
    // POST: the user's decision. Double-submit CSRF: the signed cookie, the form and the stored
    // transaction must all carry the same token, and the form must come from our own origin.
    const origin = req.headers.origin
    if (origin !== undefined && origin !== new URL(this.config.publicUrl).origin) {
      sendHtml(res, 403, errorPage('Refused', 'The consent form was submitted from another site.'))
      return
    }
    const form = await readForm(req)
    const txnId = form.get('txn') ?? ''
    const csrf = form.get('csrf') ?? ''
    const cookie = this.cookies.read(req, 'kmcp-consent')
    const txn = txnId && txnId.length <= 100 ? await this.store.get<Transaction>(KEY.txn(txnId)) : undefined
    if (!txn || !txn.csrf || txn.consented || !cookie || !safeEqual(cookie, `${txnId}.${csrf}`) || !safeEqual(csrf, txn.csrf)) {
      sendHtml(res, 403, errorPage('Refused', 'This consent form is not valid in this browser (expired, already used, or not the one kmcp showed you). Start again from your application.'))
      return
    }
    if (form.get('decision') !== 'approve') {
      await this.store.del(KEY.txn(txnId))
      const target = new URL(txn.redirectUri)
      target.searchParams.set('error', 'access_denied')
      target.searchParams.set('error_description', 'the user denied access')
      if (txn.state) target.searchParams.set('state', txn.state)
      target.searchParams.set('iss', this.config.publicUrl)
      redirect(res, target.toString(), {'set-cookie': this.cookies.clear('kmcp-consent')})
      return
    }
    await this.store.set(KEY.txn(txnId), {...txn, consented: true}, TXN_TTL)
    const upstreamUrl = await this.upstream.authorizeUrl({state: txnId, codeChallenge: createHash('sha256').update(txn.upstreamVerifier).digest('base64url'), nonce: txn.nonce})
    redirect(res, upstreamUrl, {'set-cookie': [this.cookies.clear('kmcp-consent'), this.cookies.serialize('kmcp-binding', txnId, TXN_TTL)]})
  }

  // ---------------------------------------------------------------- /auth/callback (from the identity provider)

  private async callback(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    this.allow(method, ['GET'])
    const params = url.searchParams
    const txnId = params.get('state') ?? ''
    const txn = txnId && txnId.length <= 100 ? await this.store.get<Transaction>(KEY.txn(txnId)) : undefined
    const binding = this.cookies.read(req, 'kmcp-binding')
    if (!txn || !txn.consented || !binding || !safeEqual(binding, txnId)) {
      sendHtml(res, 400, errorPage('Sign-in not recognised', 'This sign-in did not start in this browser, has expired, or was already completed. Start again from your application.'))
      return
    }
    // Single use: a second callback with the same state finds nothing.
    if (!(await this.store.take<Transaction>(KEY.txn(txnId)))) {
      sendHtml(res, 400, errorPage('Sign-in already completed', 'Start again from your application.'))
      return
    }
    const clearBinding = {'set-cookie': this.cookies.clear('kmcp-binding')}
    const back = (extra: Record<string, string>) => {
      const target = new URL(txn.redirectUri)
      for (const [key, value] of Object.entries(extra)) target.searchParams.set(key, value)
      if (txn.state) target.searchParams.set('state', txn.state)
      target.searchParams.set('iss', this.config.publicUrl)
      redirect(res, target.toString(), clearBinding)
    }
    const iss = params.get('iss')
    if (iss !== null && iss !== this.config.issuer) {
      log.warn('identity provider callback names another issuer; refused (mix-up attack?)', {expected: this.config.issuer, got: iss.slice(0, 200)})
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
      upstream = await this.upstream.exchangeCode(code, txn.upstreamVerifier, txn.nonce)
    } catch (error) {
      log.warn('upstream code exchange failed', {error: (error as Error).message})
      return back({error: 'server_error', error_description: 'kmcp could not complete the sign-in with the identity provider; see the kmcp logs'})
    }
    const ourCode = randomToken()
    await this.store.set(KEY.code(ourCode), {clientId: txn.clientId, redirectUri: txn.redirectUri, codeChallenge: txn.codeChallenge, scope: txn.scope, upstream} satisfies CodeRecord, CODE_TTL)
    log.info('user signed in', {user: this.identityOf(upstream).userId, client_id: txn.clientId})
    back({code: ourCode})
  }

  // ---------------------------------------------------------------- /token

  private async token(req: IncomingMessage, res: ServerResponse, _url: URL, method: string): Promise<void> {
    this.allow(method, ['POST'])
    const form = await readForm(req)
    const grantType = param(form, 'grant_type')
    const clientId = clientIdOf(req, form)
    if (clientId) await this.limit('token_per_client', clientId, {route: '/token', client_address: this.rateLimiter.clientAddress(req), client_id: clientId.slice(0, 200)})
    const client = await this.loadClient(clientId)
    if (!client) throw new OAuthError('invalid_client', 'unknown client_id; register again', 401)
    const resource = param(form, 'resource')
    if (resource !== undefined && !this.isOwnResource(resource)) throw new OAuthError('invalid_target', `resource must be ${this.resource}`)

    if (grantType === 'authorization_code') {
      const code = param(form, 'code')
      const verifier = param(form, 'code_verifier')
      if (!code) throw new OAuthError('invalid_request', 'code is required')
      if (!verifier) throw new OAuthError('invalid_request', 'code_verifier is required (PKCE)')
      // Single use: consumed before any check, so a replayed or failed code is gone for good.
      const record = await this.store.take<CodeRecord>(KEY.code(code))
      if (!record || record.clientId !== client.client_id) throw new OAuthError('invalid_grant', 'the authorization code is invalid, expired or already used')
      const redirectUri = param(form, 'redirect_uri')
      if (redirectUri !== undefined && redirectUri !== record.redirectUri) throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request')
      if (!safeEqual(createHash('sha256').update(verifier).digest('base64url'), record.codeChallenge)) throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge (PKCE)')
      const gid = randomToken(18)
      await this.store.set(KEY.grant(gid), {clientId: client.client_id, scope: record.scope, upstream: record.upstream} satisfies Grant, this.config.refreshTokenLifetimeSeconds)
      // Keeps a registered client alive while it is used (metadata-document clients are not stored).
      if (!isMetadataDocumentClientId(client.client_id)) await this.store.set(KEY.client(client.client_id), client, CLIENT_TTL)
      sendJson(res, 200, await this.issueTokens(client.client_id, gid, record.scope, record.upstream), CORS)
      return
    }
    if (grantType === 'refresh_token') {
      const refreshToken = param(form, 'refresh_token')
      if (!refreshToken) throw new OAuthError('invalid_request', 'refresh_token is required')
      // Rotation: the old refresh token is consumed; presenting it again fails.
      const record = await this.store.take<RefreshRecord>(KEY.refresh(refreshToken))
      if (!record || record.clientId !== client.client_id) throw new OAuthError('invalid_grant', 'the refresh token is invalid, expired or already used')
      let grant = await this.store.get<Grant>(KEY.grant(record.gid))
      if (grant) grant = await this.freshGrant(record.gid, grant)
      if (!grant) throw new OAuthError('invalid_grant', 'the sign-in behind this refresh token has ended; sign in again')
      const requested = param(form, 'scope')
      const scope = requested ? requested.split(' ').filter((s) => record.scope.split(' ').includes(s)).join(' ') || record.scope : record.scope
      sendJson(res, 200, await this.issueTokens(client.client_id, record.gid, scope, grant.upstream), CORS)
      return
    }
    throw new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token')
  }

  private async issueTokens(clientId: string, gid: string, scope: string, upstream: UpstreamTokens): Promise<Record<string, unknown>> {
    const lifetime = Math.min(this.config.accessTokenLifetimeSeconds, this.config.refreshTokenLifetimeSeconds)
    const access = await this.issuer.mint({sub: upstream.claims.sub, client_id: clientId, scope, gid}, lifetime)
    const refreshToken = randomToken()
    await this.store.set(KEY.refresh(refreshToken), {clientId, gid, scope} satisfies RefreshRecord, this.config.refreshTokenLifetimeSeconds)
    return {access_token: access.token, token_type: 'Bearer', expires_in: lifetime, refresh_token: refreshToken, scope}
  }

  // ---------------------------------------------------------------- /revoke (RFC 7009)

  private async revoke(req: IncomingMessage, res: ServerResponse, _url: URL, method: string): Promise<void> {
    this.allow(method, ['POST'])
    const form = await readForm(req)
    const token = param(form, 'token')
    const client = await this.loadClient(clientIdOf(req, form))
    if (!client) throw new OAuthError('invalid_client', 'unknown client_id', 401)
    if (!token) throw new OAuthError('invalid_request', 'token is required')
    let gid: string | undefined
    const refresh = await this.store.take<RefreshRecord>(KEY.refresh(token))
    if (refresh && refresh.clientId === client.client_id) gid = refresh.gid
    if (!gid) {
      const access = await this.issuer.verify(token).catch(() => undefined)
      if (access && access.client_id === client.client_id) gid = access.gid
    }
    if (gid) {
      this.recentGrants.delete(gid)
      const grant = await this.store.take<Grant>(KEY.grant(gid))
      if (grant) await this.upstream.revoke(grant.upstream).catch(() => undefined)
    }
    // RFC 7009: unknown tokens are not an error.
    res.writeHead(200, {...CORS, 'cache-control': 'no-store'})
    res.end()
  }

  // ---------------------------------------------------------------- /mcp requests

  private challenge(res: ServerResponse, status: 401 | 403, error?: {code: string; description: string}): undefined {
    const parts = [`resource_metadata="${this.resourceMetadataUrl}"`, `scope="${this.config.mcpScopes.join(' ')}"`]
    if (error) parts.unshift(`error="${error.code}"`, `error_description="${error.description.replace(/["\\]/g, '')}"`)
    sendJson(res, status, error ? {error: error.code, error_description: error.description} : {error: 'unauthorized', error_description: 'a bearer token is required'}, {
      ...CORS,
      'access-control-expose-headers': 'www-authenticate',
      'www-authenticate': `Bearer ${parts.join(', ')}`,
    })
    return undefined
  }

  async authenticate(req: IncomingMessage, res: ServerResponse): Promise<{authInfo: AuthInfo; identity: CallerIdentity} | undefined> {
    const header = req.headers.authorization
    const match = header ? /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim()) : null
    if (!match) return this.challenge(res, 401, header ? {code: 'invalid_request', description: 'malformed Authorization header; expected "Bearer <token>"'} : undefined)
    const token = match[1]
    let claims
    try {
      claims = await this.issuer.verify(token)
    } catch {
      return this.challenge(res, 401, {code: 'invalid_token', description: 'the access token is invalid or expired'})
    }
    let grant: Grant | undefined
    try {
      grant = await this.loadGrant(claims.gid)
      if (grant && grant.clientId === claims.client_id) grant = await this.freshGrant(claims.gid, grant)
      else grant = undefined
    } catch (error) {
      log.error('token check failed: storage unavailable', {error: (error as Error).message})
      sendJson(res, 503, {error: 'temporarily_unavailable', error_description: 'kmcp cannot reach its token storage; try again shortly'}, {'retry-after': '5'})
      return undefined
    }
    if (!grant) return this.challenge(res, 401, {code: 'invalid_token', description: 'the sign-in behind this token has ended or was revoked; sign in again'})
    const scopes = claims.scope.split(' ').filter(Boolean)
    const missing = this.config.mcpScopes.filter((s) => !scopes.includes(s))
    if (missing.length > 0) return this.challenge(res, 403, {code: 'insufficient_scope', description: `this request needs the scopes ${this.config.mcpScopes.join(' ')}`})
    const identity = this.cachedIdentity(grant)
    return {
      authInfo: {
        token,
        clientId: claims.client_id,
        scopes,
        expiresAt: claims.exp,
        resource: new URL(this.resource),
        extra: {userId: identity.userId, upstreamIssuer: grant.upstream.claims.iss},
      },
      identity,
    }
  }

  private async loadGrant(gid: string): Promise<Grant | undefined> {
    const now = Date.now()
    const recent = this.recentGrants.get(gid)
    if (recent && recent.until > now) return recent.grant
    const grant = await this.store.get<Grant>(KEY.grant(gid))
    this.recentGrants.delete(gid)
    if (grant) {
      if (this.recentGrants.size >= GRANT_CACHE_SIZE) this.recentGrants.delete(this.recentGrants.keys().next().value!)
      this.recentGrants.set(gid, {grant, until: now + GRANT_CACHE_MS})
    }
    return grant
  }

  /**
   * The grant with a valid upstream access token: renewed with the upstream refresh token when it
   * is about to expire. Undefined when the upstream sign-in has ended (the grant is then removed).
   */
  private async freshGrant(gid: string, grant: Grant): Promise<Grant | undefined> {
    const expiresAt = grant.upstream.expiresAt
    if (expiresAt === undefined || expiresAt - UPSTREAM_EXPIRY_MARGIN_MS > Date.now()) return grant
    const running = this.refreshing.get(gid)
    if (running) return running
    const work = (async (): Promise<Grant | undefined> => {
      try {
        const upstream = await this.upstream.refresh(grant.upstream)
        const renewed = {...grant, upstream}
        await this.store.set(KEY.grant(gid), renewed, this.config.refreshTokenLifetimeSeconds)
        this.recentGrants.delete(gid)
        return renewed
      } catch (error) {
        // Another replica may have refreshed (and rotated the upstream refresh token) first.
        const stored = await this.store.get<Grant>(KEY.grant(gid))
        if (stored?.upstream.expiresAt && stored.upstream.expiresAt - UPSTREAM_EXPIRY_MARGIN_MS > Date.now()) return stored
        if (error instanceof UpstreamError && error.oauthError === 'invalid_grant') {
          log.info('upstream sign-in ended; the user must sign in again', {error: error.message})
          await this.store.del(KEY.grant(gid))
          this.recentGrants.delete(gid)
          return undefined
        }
        throw error
      } finally {
        this.refreshing.delete(gid)
      }
    })()
    this.refreshing.set(gid, work)
    return work
  }

  /** identityOf, computed once per stored sign-in object (the grant cache hands out the same object). */
  private cachedIdentity(grant: Grant): CallerIdentity {
    let identity = this.identities.get(grant)
    if (!identity) {
      identity = this.identityOf(grant.upstream)
      this.identities.set(grant, identity)
    }
    return identity
  }

  identityOf(upstream: UpstreamTokens): CallerIdentity {
    const claims = upstream.claims
    const userId = userIdFor(claims as unknown as Record<string, unknown>, claims.iss)
    const username = claims.preferred_username ?? claims.username ?? claims.name ?? claims.email ?? claims.sub
    // Kubernetes reserves system: groups; an identity provider must never be able to grant them.
    const groups = (claims.groups ?? []).filter((g) => g !== '' && !g.startsWith('system:'))
    const isAdmin = this.config.adminUsers.some((u) => u === userId || u === username) || groups.some((g) => this.config.adminGroups.includes(g))
    return {
      userId,
      username,
      groups,
      isAdmin,
      transport: 'http',
      ...(this.impersonate ? {kubernetes: {user: userId, groups}} : {}),
    }
  }
}

function isStorageError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : ''
  return /redis is not connected|Stream isn't writeable|ECONNREFUSED|Connection is closed/i.test(message)
}
