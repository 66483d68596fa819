import assert from 'node:assert/strict'
// Shared pieces of the OAuth tests: the configuration files kmcp reads, an OAuthClientProvider for
// the SDK's own client, and a minimal "browser" (fetch + cookie jar) that walks the redirects of
// a sign-in the way a user's browser would.
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {UnauthorizedError, type OAuthClientProvider} from '@modelcontextprotocol/sdk/client/auth.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type {OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens} from '@modelcontextprotocol/sdk/shared/auth.js'
import {stringify} from 'yaml'
import {createNamespace, harness, kubeRequest, waitFor} from '../support/kube.ts'
import {startHttpServer, type HttpServerProcess} from '../support/mcp.ts'
import {startIdentityProvider, type TestIdentityProvider} from '../support/oidc.ts'
import {freePort, startRedis, type TestRedis} from '../support/redis.ts'

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

  /** Set: the client identifies itself by this client ID metadata document instead of registering. */
  readonly clientMetadataUrl?: string

  constructor(redirectUri = 'http://127.0.0.1:53682/callback', clientMetadataUrl?: string) {
    this.redirectUri = redirectUri
    this.clientMetadataUrl = clientMetadataUrl
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

/** A PKCE verifier and its S256 challenge. */
export function pkcePair(): {verifier: string; challenge: string} {
  const verifier = randomBytes(32).toString('base64url')
  return {verifier, challenge: createHash('sha256').update(verifier).digest('base64url')}
}

export async function postForm(url: string, form: Record<string, string>): Promise<Response> {
  return fetch(url, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams(form), redirect: 'manual'})
}

/** Registers a public client over plain HTTP (RFC 7591) and returns its client_id. */
export async function registerClient(publicUrl: string, redirectUri = 'http://127.0.0.1:53682/callback'): Promise<string> {
  const response = await fetch(`${publicUrl}/register`, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({client_name: 'raw test client', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none'}),
  })
  if (response.status !== 201) throw new Error(`registration failed: HTTP ${response.status} ${await response.text()}`)
  return ((await response.json()) as {client_id: string}).client_id
}

export function authorizeUrl(publicUrl: string, params: Record<string, string | undefined>): string {
  const url = new URL(`${publicUrl}/authorize`)
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value)
  return url.toString()
}

/** Signs in through the browser and returns the authorization code kmcp sent back, unredeemed. */
export async function obtainCode(publicUrl: string, clientId: string, options: {redirectUri?: string; pkce?: {verifier: string; challenge: string}; scope?: string} = {}): Promise<{code: string; verifier: string; redirectUri: string}> {
  const redirectUri = options.redirectUri ?? 'http://127.0.0.1:53682/callback'
  const pkce = options.pkce ?? pkcePair()
  const url = authorizeUrl(publicUrl, {response_type: 'code', client_id: clientId, redirect_uri: redirectUri, code_challenge: pkce.challenge, code_challenge_method: 'S256', state: 'st-1', scope: options.scope ?? 'kmcp', resource: `${publicUrl}/mcp`})
  const back = await new Browser().signIn(url, redirectUri)
  const code = back.searchParams.get('code')
  if (!code) throw new Error(`no code: ${back}`)
  return {code, verifier: pkce.verifier, redirectUri}
}

/** The whole flow over raw HTTP: a registered client and kmcp's tokens for the current IdP user. */
export async function obtainTokens(publicUrl: string, options: {scope?: string} = {}): Promise<{clientId: string; access_token: string; refresh_token: string}> {
  const clientId = await registerClient(publicUrl)
  const {code, verifier, redirectUri} = await obtainCode(publicUrl, clientId, {scope: options.scope})
  const response = await postForm(`${publicUrl}/token`, {grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId, redirect_uri: redirectUri, resource: `${publicUrl}/mcp`})
  if (response.status !== 200) throw new Error(`token exchange failed: HTTP ${response.status} ${await response.text()}`)
  const body = (await response.json()) as {access_token: string; refresh_token: string}
  return {clientId, ...body}
}

/** An MCP initialize request with the given Authorization header (undefined: none). */
export async function initializeWith(mcpUrl: string, authorization: string | undefined): Promise<Response> {
  const headers: Record<string, string> = {'content-type': 'application/json', accept: 'application/json, text/event-stream'}
  if (authorization !== undefined) headers.authorization = authorization
  return fetch(mcpUrl, {
    method: 'POST',
    headers,
    body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'raw', version: '1'}}}),
  })
}

export interface AuthStack {
  redis: TestRedis
  idp: TestIdentityProvider
  files: AuthFiles
  /** The origin every replica advertises (the first replica's address). */
  publicUrl: string
  /** kmcp serve processes sharing the Redis and the keys; the first listens on publicUrl. */
  replicas: HttpServerProcess[]
  stop(): Promise<void>
}

/**
 * A real redis-server, a real OpenID provider and `replicas` kmcp serve processes with OAuth on,
 * all on loopback. Call stop() in `after`.
 */
export async function startAuthStack(options: {replicas?: number; authType?: 'auth0' | 'oidc'; accessTokenTtl?: number; extraArgs?: string[]; extraConfig?: Record<string, unknown>; env?: Record<string, string>; withoutRedis?: boolean; persistentRedis?: boolean} = {}): Promise<AuthStack> {
  const ports = await Promise.all(Array.from({length: options.replicas ?? 1}, () => freePort()))
  const publicUrl = `http://127.0.0.1:${ports[0]}`
  const redis = await startRedis({persistent: options.persistentRedis})
  const idp = await startIdentityProvider({kmcpCallbacks: [`${publicUrl}/auth/callback`], accessTokenTtl: options.accessTokenTtl})
  const files = writeAuthConfig({idp, publicUrl, redisUrl: options.withoutRedis ? undefined : redis.url, authType: options.authType, extra: options.extraConfig})
  const replicas = await Promise.all(
    ports.map((port) => startHttpServer({kubeconfig: harness().kubeconfigPath, port, extraArgs: ['--oidc-config', files.configPath, ...(options.extraArgs ?? [])], env: {KMCP_LOG_LEVEL: 'debug', ...options.env}})),
  )
  return {
    redis,
    idp,
    files,
    publicUrl,
    replicas,
    stop: async () => {
      for (const replica of replicas) await replica.stop()
      await idp.close()
      await redis.stop()
    },
  }
}

/** A fresh namespace in which CNPG clusters can be listed (the API server answers 429 while a new CRD's storage initialises). */
export async function cnpgNamespace(prefix: string): Promise<string> {
  const namespace = await createNamespace(prefix)
  await waitFor(async () => (await kubeRequest('admin', 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${namespace}/clusters`)).status === 200, {message: 'CNPG clusters listable'})
  return namespace
}

/**
 * Connects the SDK's client with its OAuthClientProvider, performing the interactive sign-in
 * (through the Browser) when kmcp asks for one, as a desktop MCP client would.
 */
export async function signInAndConnect(mcpUrl: string, provider: MemoryOAuthClient, browser = new Browser()): Promise<Client> {
  let transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {authProvider: provider})
  const client = new Client({name: 'kmcp-oauth-test', version: '1.0.0'})
  try {
    await client.connect(transport)
    return client
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error
  }
  if (!provider.authorizationUrl) throw new Error('the SDK client was not sent to an authorization URL')
  const callback = await browser.signIn(provider.authorizationUrl.toString(), provider.redirectUri)
  const code = callback.searchParams.get('code')
  if (!code) throw new Error(`no code in the redirect back to the client: ${callback}`)
  if (callback.searchParams.get('iss') !== new URL(mcpUrl).origin) throw new Error(`RFC 9207 iss parameter missing or wrong: ${callback}`)
  await transport.finishAuth(code)
  transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {authProvider: provider})
  const connected = new Client({name: 'kmcp-oauth-test', version: '1.0.0'})
  await connected.connect(transport)
  return connected
}

/** Polls `check` every 200 ms until it holds; fails the test after 10 s naming `what`. */
export async function waitUntil(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** Runs `action` and checks that no key was added to Redis meanwhile. */
export async function storesNothing(redis: TestRedis, action: () => Promise<void>): Promise<void> {
  const before = new Set(await redis.keys())
  await action()
  // Rate-limit counters count every request, refused or not; they are not OAuth state.
  const added = (await redis.keys()).filter((k) => !before.has(k) && !k.startsWith('mcp:ratelimit:'))
  assert.deepEqual(added, [], 'nothing may be stored for a refused request')
}

/**
 * The stack of the refusal suites: they fire dozens of registrations and sign-ins from one address
 * within seconds, far above the default rate limits (which rate-limit.test.ts covers).
 */
export function startStackForAttacks(): Promise<AuthStack> {
  return startAuthStack({extraConfig: {rate_limits: {register_per_ip: 1000, token_per_ip: 1000, authorize_per_ip: 1000}}})
}
