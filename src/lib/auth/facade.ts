import type {IncomingMessage, ServerResponse} from 'node:http'
import type {AuthInfo} from '@modelcontextprotocol/sdk/server/auth/types.js'
import type {CallerIdentity} from '../tools/registry.ts'
import {log} from '../server/logger.ts'
import {BearerAuthenticator} from './bearer.ts'
import {FacadeContext, type Endpoint, type FacadeOptions} from './context.ts'
import {authorize, consent} from './endpoints/authorize.ts'
import {callback} from './endpoints/callback.ts'
import {authorizationServerMetadata, protectedResourceMetadata} from './endpoints/metadata.ts'
import {register} from './endpoints/registration.ts'
import {revoke} from './endpoints/revoke.ts'
import {token} from './endpoints/token.ts'
import {CORS, OAuthError, sendOAuthError} from './oauth-http.ts'
import type {RateLimitName} from './rate-limit.ts'
import {UpstreamError} from './upstream.ts'

export type {FacadeOptions} from './context.ts'

const ROUTES: Record<string, Endpoint> = {
  '/register': register,
  '/authorize': authorize,
  '/consent': consent,
  '/auth/callback': callback,
  '/token': token,
  '/revoke': revoke,
}

/**
 * kmcp's OAuth 2.1 authorization server in front of the upstream identity provider (the MCP
 * authorization spec's "third-party authorization" pattern): it registers MCP clients itself,
 * asks the user's consent per client, signs the user in upstream with its own client and PKCE,
 * and issues its own tokens bound to the stored upstream grant. Upstream tokens never leave the
 * server, and kmcp's tokens are never sent upstream. This class only routes; each endpoint lives
 * in endpoints/.
 */
export class OAuthFacade {
  private readonly ctx: FacadeContext
  private readonly bearer: BearerAuthenticator
  readonly resource: string
  readonly resourceMetadataUrl: string

  constructor(options: FacadeOptions) {
    this.ctx = new FacadeContext(options)
    this.bearer = new BearerAuthenticator(this.ctx)
    this.resource = this.ctx.resource
    this.resourceMetadataUrl = this.ctx.resourceMetadataUrl
  }

  async handleRoute(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname.replace(/\/+$/, '') || '/'
    const method = req.method ?? 'GET'
    const route = this.routeFor(path)
    if (!route) {
      // CORS preflight for the MCP endpoint must not need a token (browsers send none).
      if (method === 'OPTIONS' && (path === this.ctx.mcpPath || path === '/')) {
        preflight(res)
        return true
      }
      return false
    }
    if (method === 'OPTIONS') {
      preflight(res)
      return true
    }
    try {
      await this.limitByAddress(req, path, method)
      await route(this.ctx, req, res, url, method)
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

  authenticate(req: IncomingMessage, res: ServerResponse): Promise<{authInfo: AuthInfo; identity: CallerIdentity} | undefined> {
    return this.bearer.authenticate(req, res)
  }

  private routeFor(path: string): Endpoint | undefined {
    const mcpPath = this.ctx.mcpPath
    const prm = '/.well-known/oauth-protected-resource'
    if (path === prm || path === `${prm}${mcpPath}` || path === `${mcpPath}${prm}`) return protectedResourceMetadata
    const asm = ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']
    if (asm.some((p) => path === p || path === `${mcpPath}${p}`)) return authorizationServerMetadata
    return Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined
  }

  /** The per-address limits of rate_limits, checked before a request is read. */
  private async limitByAddress(req: IncomingMessage, path: string, method: string): Promise<void> {
    let limit: RateLimitName | undefined
    if (path === '/register') limit = 'register_per_ip'
    else if (path === '/token') limit = 'token_per_ip'
    // The consent page (GET) follows every /authorize; only the decision (POST) counts.
    else if (path === '/authorize' || (path === '/consent' && method === 'POST')) limit = 'authorize_per_ip'
    else if (path === '/revoke') limit = 'revoke_per_ip'
    else if (path === '/auth/callback') limit = 'callback_per_ip'
    if (!limit) return
    await this.ctx.limitAddress(limit, req, path)
  }
}

function preflight(res: ServerResponse): void {
  res.writeHead(204, {
    ...CORS,
    'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
    'access-control-allow-headers': 'authorization, content-type, mcp-session-id, mcp-protocol-version, last-event-id',
    'access-control-expose-headers': 'mcp-session-id, www-authenticate',
    'access-control-max-age': '600',
  })
  res.end()
}

function isStorageError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : ''
  return /redis is not connected|Stream isn't writeable|ECONNREFUSED|Connection is closed/i.test(message)
}
