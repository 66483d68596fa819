import {createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload} from 'jose'
import type {AuthConfig} from './config.ts'

/** What kmcp keeps of an upstream sign-in. Never sent to MCP clients. */
export interface UpstreamTokens {
  accessToken: string
  refreshToken?: string
  idToken?: string
  /** Epoch milliseconds; undefined when the provider did not say. */
  expiresAt?: number
  /** Verified claims: the ID token's, over the access token's. */
  claims: UpstreamClaims
}

export interface UpstreamClaims {
  iss: string
  sub: string
  preferred_username?: string
  username?: string
  name?: string
  email?: string
  /** Only true when the provider says the email address was verified. */
  email_verified?: boolean
  groups?: string[]
  /** The value of `kubernetes_username.claim` when it is none of the claims above (e.g. Entra's oid). */
  subject_claim?: string
}

interface DiscoveryDocument {
  issuer: string
  authorization_endpoint: string
  token_endpoint: string
  jwks_uri: string
  revocation_endpoint?: string
}

/** An error from the upstream identity provider; its message is safe to log (no tokens). */
export class UpstreamError extends Error {
  readonly oauthError: string
  constructor(oauthError: string, message: string) {
    super(message)
    this.name = 'UpstreamError'
    this.oauthError = oauthError
  }
}

/** Asymmetric algorithms only: an identity provider never signs with a shared secret we hold. */
const UPSTREAM_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']

/**
 * The upstream OpenID provider (Auth0, Keycloak, Okta, Entra ID, Dex, Google…), found through
 * discovery on first use (not at start-up, so an unreachable provider does not stop kmcp). The
 * JWKS is refreshed by jose when a token names an unknown key.
 */
export class UpstreamProvider {
  private readonly config: AuthConfig
  private discovery?: Promise<{doc: DiscoveryDocument; jwks: ReturnType<typeof createRemoteJWKSet>}>

  constructor(config: AuthConfig) {
    this.config = config
  }

  get callbackUrl(): string {
    return `${this.config.publicUrl}/auth/callback`
  }

  async metadata(): Promise<{doc: DiscoveryDocument; jwks: ReturnType<typeof createRemoteJWKSet>}> {
    if (!this.discovery) {
      this.discovery = this.discover().catch((error: unknown) => {
        this.discovery = undefined
        throw error
      })
    }
    return this.discovery
  }

  private async discover(): Promise<{doc: DiscoveryDocument; jwks: ReturnType<typeof createRemoteJWKSet>}> {
    const url = `${this.config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
    let response: Response
    try {
      response = await fetch(url, {signal: AbortSignal.timeout(10_000), headers: {accept: 'application/json'}})
    } catch (error) {
      throw new UpstreamError('temporarily_unavailable', `cannot reach the identity provider's discovery document ${url}: ${(error as Error).message}`)
    }
    if (!response.ok) throw new UpstreamError('temporarily_unavailable', `the identity provider's discovery document ${url} answered HTTP ${response.status}; check \`issuer\``)
    const doc = (await response.json()) as Partial<DiscoveryDocument>
    for (const field of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
      if (typeof doc[field] !== 'string') throw new UpstreamError('temporarily_unavailable', `the discovery document ${url} has no ${field}`)
    }
    if (doc.issuer !== this.config.issuer) {
      throw new UpstreamError('temporarily_unavailable', `the discovery document ${url} names issuer ${doc.issuer}, not the configured ${this.config.issuer}; set \`issuer\` to exactly that value (mind the trailing slash)`)
    }
    return {doc: doc as DiscoveryDocument, jwks: createRemoteJWKSet(new URL(doc.jwks_uri!), {timeoutDuration: 10_000, cooldownDuration: 30_000})}
  }

  /** The URL the browser is sent to after consent. */
  async authorizeUrl(params: {state: string; codeChallenge: string; nonce: string}): Promise<string> {
    const {doc} = await this.metadata()
    const url = new URL(doc.authorization_endpoint)
    for (const [name, value] of Object.entries(this.config.upstreamAuthorizeParams)) url.searchParams.set(name, value)
    url.searchParams.set('response_type', 'code')
    url.searchParams.set('client_id', this.config.clientId)
    url.searchParams.set('redirect_uri', this.callbackUrl)
    url.searchParams.set('scope', this.config.upstreamScopes.join(' '))
    url.searchParams.set('state', params.state)
    url.searchParams.set('nonce', params.nonce)
    url.searchParams.set('code_challenge', params.codeChallenge)
    url.searchParams.set('code_challenge_method', 'S256')
    if (this.config.authType === 'auth0' && this.config.audience) url.searchParams.set('audience', this.config.audience)
    return url.toString()
  }

  async origin(): Promise<string> {
    return new URL((await this.metadata()).doc.authorization_endpoint).origin
  }

  async exchangeCode(code: string, codeVerifier: string, nonce: string): Promise<UpstreamTokens> {
    const body = new URLSearchParams({grant_type: 'authorization_code', code, redirect_uri: this.callbackUrl, code_verifier: codeVerifier})
    return this.tokenRequest(body, {nonce})
  }

  async refresh(previous: UpstreamTokens): Promise<UpstreamTokens> {
    if (!previous.refreshToken) throw new UpstreamError('invalid_grant', 'the identity provider gave no refresh token, so the sign-in cannot be renewed; sign in again')
    const body = new URLSearchParams({grant_type: 'refresh_token', refresh_token: previous.refreshToken})
    const next = await this.tokenRequest(body, {})
    // Providers may omit a new refresh token (no rotation) or a new ID token on refresh.
    return {...next, refreshToken: next.refreshToken ?? previous.refreshToken, claims: next.idToken ? next.claims : {...previous.claims, ...next.claims, iss: previous.claims.iss}}
  }

  /** Best effort: a failure only means the upstream token lives until it expires. */
  async revoke(tokens: UpstreamTokens): Promise<void> {
    const {doc} = await this.metadata()
    if (!doc.revocation_endpoint) return
    const token = tokens.refreshToken ?? tokens.accessToken
    const body = new URLSearchParams({token, token_type_hint: tokens.refreshToken ? 'refresh_token' : 'access_token'})
    await fetch(doc.revocation_endpoint, {method: 'POST', ...this.clientAuth(body), signal: AbortSignal.timeout(5000)}).catch(() => undefined)
  }

  private clientAuth(body: URLSearchParams): {headers: Record<string, string>; body: URLSearchParams} {
    const headers: Record<string, string> = {'content-type': 'application/x-www-form-urlencoded', accept: 'application/json'}
    if (this.config.upstreamTokenAuthMethod === 'client_secret_basic') {
      const credentials = `${encodeURIComponent(this.config.clientId)}:${encodeURIComponent(this.config.clientSecret ?? '')}`
      headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`
    } else {
      body.set('client_id', this.config.clientId)
      if (this.config.upstreamTokenAuthMethod === 'client_secret_post') body.set('client_secret', this.config.clientSecret ?? '')
    }
    return {headers, body}
  }

  private async tokenRequest(body: URLSearchParams, expect: {nonce?: string}): Promise<UpstreamTokens> {
    const {doc, jwks} = await this.metadata()
    if (this.config.authType === 'auth0' && this.config.audience) body.set('audience', this.config.audience)
    let response: Response
    try {
      response = await fetch(doc.token_endpoint, {method: 'POST', ...this.clientAuth(body), signal: AbortSignal.timeout(10_000)})
    } catch (error) {
      throw new UpstreamError('temporarily_unavailable', `cannot reach the identity provider's token endpoint: ${(error as Error).message}`)
    }
    const payload = (await response.json().catch(() => ({}))) as Record<string, unknown>
    if (!response.ok) {
      const error = typeof payload.error === 'string' ? payload.error : 'server_error'
      const description = typeof payload.error_description === 'string' ? `: ${payload.error_description.slice(0, 300)}` : ''
      throw new UpstreamError(error === 'invalid_grant' ? 'invalid_grant' : 'server_error', `the identity provider's token endpoint answered HTTP ${response.status} ${error}${description}`)
    }
    const accessToken = payload.access_token
    if (typeof accessToken !== 'string' || accessToken === '') throw new UpstreamError('server_error', 'the identity provider returned no access_token')
    const idToken = typeof payload.id_token === 'string' ? payload.id_token : undefined
    const refreshToken = typeof payload.refresh_token === 'string' ? payload.refresh_token : undefined
    const expiresIn = typeof payload.expires_in === 'number' ? payload.expires_in : Number(payload.expires_in) || undefined

    let claims: JWTPayload = {}
    const accessIsJwt = accessToken.split('.').length === 3
    if (accessIsJwt && this.config.audience) {
      claims = await this.verify(accessToken, jwks, this.config.audience, 'access token')
    } else if (this.config.authType === 'auth0') {
      throw new UpstreamError('server_error', `Auth0 returned an opaque access token: the API identifier ${this.config.audience} (\`audience\`) is probably wrong or the API does not exist`)
    }
    if (idToken) {
      const idClaims = await this.verify(idToken, jwks, this.config.clientId, 'ID token')
      if (expect.nonce !== undefined && idClaims.nonce !== expect.nonce) throw new UpstreamError('server_error', 'the ID token nonce does not match this sign-in')
      if (claims.sub !== undefined && claims.sub !== idClaims.sub) throw new UpstreamError('server_error', 'the ID token and the access token name different users')
      claims = {...claims, ...idClaims}
    }
    if (typeof claims.sub !== 'string' || typeof claims.iss !== 'string') {
      throw new UpstreamError('server_error', 'the identity provider returned neither an ID token nor a verifiable JWT access token; request the openid scope (`required_scopes`) or set `audience`')
    }
    return {accessToken, refreshToken, idToken, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined, claims: this.pickClaims(claims)}
  }

  private async verify(token: string, jwks: ReturnType<typeof createRemoteJWKSet>, audience: string, what: string): Promise<JWTPayload> {
    try {
      const {payload} = await jwtVerify(token, jwks, {issuer: this.config.issuer, audience, algorithms: UPSTREAM_ALGORITHMS, clockTolerance: 30})
      return payload
    } catch (error) {
      let hint = ''
      try {
        const decoded = decodeJwt(token)
        hint = ` (token iss ${String(decoded.iss)}, aud ${JSON.stringify(decoded.aud)})`
      } catch {
        // Not a JWT at all; the message below says so.
      }
      throw new UpstreamError('server_error', `the identity provider's ${what} did not verify: ${(error as Error).message}${hint}`)
    }
  }

  private pickClaims(claims: JWTPayload): UpstreamClaims {
    const text = (key: string): string | undefined => (typeof claims[key] === 'string' && claims[key] !== '' ? (claims[key] as string) : undefined)
    const groupsValue = claims[this.config.kubernetesGroups.claim]
    const subjectClaim = this.config.kubernetesUsername.claim
    const groups = Array.isArray(groupsValue) ? groupsValue.filter((g): g is string => typeof g === 'string') : typeof groupsValue === 'string' ? [groupsValue] : undefined
    return {
      iss: claims.iss!,
      sub: claims.sub!,
      preferred_username: text('preferred_username'),
      username: text('username'),
      name: text('name'),
      email: text('email'),
      // Some providers send the string "true".
      email_verified: claims.email_verified === true || claims.email_verified === 'true',
      groups,
      ...(['sub', 'email', 'preferred_username', 'username', 'name'].includes(subjectClaim) ? {} : {subject_claim: text(subjectClaim)}),
    }
  }
}
