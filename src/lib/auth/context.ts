import type {IncomingMessage} from 'node:http'
import type {JSONWebKeySet} from 'jose'
import type {EncryptedStore} from '../storage/encrypted.ts'
import {log} from '../server/logger.ts'
import type {AuthConfig} from './config.ts'
import {ClientMetadataDocuments, isMetadataDocumentClientId} from './client-metadata.ts'
import {CookieSigner} from './cookies.ts'
import {GrantStore} from './grants.ts'
import {OAuthError} from './oauth-http.ts'
import {RateLimiter, type RateLimitName} from './rate-limit.ts'
import {KEY, type RegisteredClient} from './records.ts'
import {checkRedirectUri} from './redirect-uri.ts'
import {AccessTokenIssuer} from './tokens.ts'
import type {UpstreamProvider} from './upstream.ts'
import {WorkloadTokenVerifier} from './workload-issuers.ts'

export interface FacadeOptions {
  config: AuthConfig
  store: EncryptedStore
  upstream: UpstreamProvider
  /** Path of the MCP endpoint, e.g. /mcp. */
  mcpPath: string
  /** --impersonate: Kubernetes requests carry the caller's identity. */
  impersonate: boolean
  /** Reads the service-account issuer's keys through kmcp's Kubernetes connection (jwks_from_kubernetes). */
  kubernetesJwks?: () => Promise<JSONWebKeySet>
}

/** What every OAuth endpoint shares: configuration, storage, keys, limits, and client lookup. */
export class FacadeContext {
  readonly config: AuthConfig
  readonly store: EncryptedStore
  readonly upstream: UpstreamProvider
  readonly issuer: AccessTokenIssuer
  readonly cookies: CookieSigner
  readonly impersonate: boolean
  /** The MCP endpoint's path; empty when it is the root. */
  readonly mcpPath: string
  readonly resource: string
  readonly resourceMetadataUrl: string
  readonly grants: GrantStore
  readonly metadataDocuments: ClientMetadataDocuments
  readonly rateLimiter: RateLimiter
  readonly workloads: WorkloadTokenVerifier

  constructor(options: FacadeOptions) {
    this.config = options.config
    this.store = options.store
    this.upstream = options.upstream
    this.impersonate = options.impersonate
    this.mcpPath = options.mcpPath === '/' ? '' : options.mcpPath
    this.resource = `${this.config.publicUrl}${this.mcpPath}`
    this.resourceMetadataUrl = `${this.config.publicUrl}/.well-known/oauth-protected-resource${this.mcpPath}`
    this.issuer = new AccessTokenIssuer({keys: this.config.signingKeys, issuer: this.config.publicUrl, audience: this.resource})
    this.cookies = new CookieSigner(this.config.signingKeys[0].key, this.config.publicUrl.startsWith('https:'))
    this.grants = new GrantStore(this.store, this.upstream, this.config.refreshTokenLifetimeSeconds)
    this.metadataDocuments = new ClientMetadataDocuments(this.config.cimdAllowedHosts)
    this.rateLimiter = new RateLimiter(this.store, this.config.rateLimits, this.config.trustedProxies)
    this.workloads = new WorkloadTokenVerifier(this.config.workloadIssuers, options.kubernetesJwks)
  }

  clientAddress(req: IncomingMessage): string {
    return this.rateLimiter.clientAddress(req)
  }

  /**
   * Counts the request and refuses it once the limit is reached: 429 with Retry-After and
   * `temporarily_unavailable` (RFC 6749 §4.1.2.1 and §5.2's convention for "try again later";
   * RFC 8628's slow_down belongs to device-code polling, which kmcp does not offer).
   */
  async limit(limit: RateLimitName, subject: string, logContext: Record<string, string>): Promise<void> {
    const refused = await this.rateLimiter.hit(limit, subject, logContext)
    if (!refused) return
    throw new OAuthError('temporarily_unavailable', `too many requests (rate_limits.${limit}); try again in ${refused.retryAfterSeconds} s`, 429, {'retry-after': String(refused.retryAfterSeconds)})
  }

  /** The per-address limit `limit` for this request's client address (IPv6 by /64). */
  async limitAddress(limit: RateLimitName, req: IncomingMessage, route: string): Promise<void> {
    const address = this.clientAddress(req)
    const refused = await this.rateLimiter.hitAddress(limit, address, {route, client_address: address})
    if (refused) throw new OAuthError('temporarily_unavailable', `too many requests (rate_limits.${limit}); try again in ${refused.retryAfterSeconds} s`, 429, {'retry-after': String(refused.retryAfterSeconds)})
  }

  /** A registered client, or one described by its client ID metadata document. */
  async loadClient(clientId: string | undefined): Promise<RegisteredClient | undefined> {
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

  /** RFC 8707: the resource must be this MCP endpoint (trailing slash and case of scheme/host ignored). */
  isOwnResource(resource: string): boolean {
    try {
      const given = new URL(resource)
      const own = new URL(this.resource)
      if (given.hash) return false
      return given.origin === own.origin && given.pathname.replace(/\/+$/, '') === own.pathname.replace(/\/+$/, '') && given.search === own.search
    } catch {
      return false
    }
  }
}

/** An endpoint: answers one request (throws OAuthError for the router to answer). */
export type Endpoint = (ctx: FacadeContext, req: IncomingMessage, res: import('node:http').ServerResponse, url: URL, method: string) => Promise<void>
