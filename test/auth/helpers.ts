// Shared pieces of the OAuth tests: the configuration files kmcp reads, an OAuthClientProvider for
// the SDK's own client, and a minimal "browser" (fetch + cookie jar) that walks the redirects of
// a sign-in the way a user's browser would.
import {randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {OAuthClientProvider} from '@modelcontextprotocol/sdk/client/auth.js'
import type {OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens} from '@modelcontextprotocol/sdk/shared/auth.js'
import {stringify} from 'yaml'
import type {TestIdentityProvider} from '../support/oidc.ts'

export interface AuthFiles {
  dir: string
  configPath: string
  signingKeyHex: string
  secrets: string[]
}

/** Writes oidc.yaml plus the three secret files, the way the Helm chart mounts them. */
export function writeAuthConfig(options: {idp: TestIdentityProvider; publicUrl: string; redisUrl?: string; authType?: 'auth0' | 'oidc'; extra?: Record<string, unknown>}): AuthFiles {
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-auth-'))
  const signingKeyHex = randomBytes(32).toString('hex')
  const storageKey = randomBytes(32).toString('base64url') + '='
  writeFileSync(join(dir, 'client_secret'), options.idp.clientSecret + '\n')
  writeFileSync(join(dir, 'jwt_signing_key'), signingKeyHex + '\n')
  writeFileSync(join(dir, 'storage_encryption_key'), storageKey + '\n')
  const config: Record<string, unknown> = {
    auth_type: options.authType ?? 'auth0',
    issuer: options.idp.issuer,
    audience: options.idp.audience,
    client_id: options.idp.clientId,
    client_secret_file: join(dir, 'client_secret'),
    jwt_signing_key_file: join(dir, 'jwt_signing_key'),
    storage_encryption_key_file: join(dir, 'storage_encryption_key'),
    public_url: options.publicUrl,
    required_scopes: ['openid', 'profile', 'email', 'offline_access', 'groups'],
    ...(options.redisUrl ? {redis: {url: options.redisUrl}} : {}),
    ...options.extra,
  }
  const configPath = join(dir, 'oidc.yaml')
  writeFileSync(configPath, stringify(config))
  return {dir, configPath, signingKeyHex, secrets: [options.idp.clientSecret, signingKeyHex, storageKey]}
}

/** The SDK's OAuthClientProvider, kept in memory, for a native app with a loopback redirect. */
export class MemoryOAuthClient implements OAuthClientProvider {
  readonly redirectUri: string
  authorizationUrl?: URL
  private info?: OAuthClientInformationMixed
  private savedTokens?: OAuthTokens
  private verifier?: string

  constructor(redirectUri = 'http://127.0.0.1:53682/callback') {
    this.redirectUri = redirectUri
  }

  get redirectUrl(): string {
    return this.redirectUri
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'kmcp test client',
      redirect_uris: [this.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.info
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.info = info
  }

  tokens(): OAuthTokens | undefined {
    return this.savedTokens
  }

  saveTokens(tokens: OAuthTokens): void {
    this.savedTokens = tokens
  }

  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier
  }

  codeVerifier(): string {
    if (!this.verifier) throw new Error('no code verifier saved')
    return this.verifier
  }
}

/** fetch with manual redirects and one cookie jar (cookies are per host, not per port). */
export class Browser {
  private readonly jar = new Map<string, string>()
  /** Every URL visited, in order. */
  readonly visited: string[] = []

  cookies(): Map<string, string> {
    return this.jar
  }

  async request(url: string, init: {method?: string; form?: Record<string, string>; headers?: Record<string, string>} = {}): Promise<Response> {
    this.visited.push(url)
    const headers: Record<string, string> = {...init.headers}
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ')
    let body: string | undefined
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(init.form).toString()
    }
    const response = await fetch(url, {method: init.method ?? 'GET', headers, body, redirect: 'manual'})
    for (const cookie of response.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === ''
      if (expired) this.jar.delete(name)
      else this.jar.set(name, value)
    }
    return response
  }

  /**
   * Follows redirects from `url` until one leads to `stopAt` (the client's redirect URI), and
   * approves kmcp's consent page on the way. Returns the final redirect URL.
   */
  async signIn(url: string, stopAt: string, options: {decision?: 'approve' | 'deny'} = {}): Promise<URL> {
    let next = url
    let method = 'GET'
    let form: Record<string, string> | undefined
    for (let hop = 0; hop < 25; hop++) {
      if (next.startsWith(stopAt)) return new URL(next)
      const response = await this.request(next, {method, form})
      method = 'GET'
      form = undefined
      const location = response.headers.get('location')
      if (location) {
        next = new URL(location, next).toString()
        continue
      }
      const text = await response.text()
      if (response.status === 200 && text.includes('name="csrf"')) {
        form = {...consentFields(text), decision: options.decision ?? 'approve'}
        method = 'POST'
        next = new URL('/consent', next).toString()
        continue
      }
      throw new Error(`sign-in stopped at ${next}: HTTP ${response.status} ${text.slice(0, 300)}`)
    }
    throw new Error('sign-in did not finish within 25 redirects')
  }
}

/** The hidden fields of kmcp's consent form. */
export function consentFields(html: string): {txn: string; csrf: string} {
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? ''
  return {txn: field('txn'), csrf: field('csrf')}
}
