import {randomBytes} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import {auth, discoverAuthorizationServerMetadata, discoverOAuthProtectedResourceMetadata, type OAuthClientProvider} from '@modelcontextprotocol/sdk/client/auth.js'
import type {OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens} from '@modelcontextprotocol/sdk/shared/auth.js'
import {fail, pass, type TestPlugin} from './plugin.ts'
import {readSavedLogin, stillValidAccessToken, writeSavedLogin, type SavedLogin} from './saved-login.ts'
import {TOKEN_PLUGIN, type McpSessionHost} from './session.ts'

/** Where the bearer token for an HTTP run comes from. At most one source is given. */
export type TokenSource =
  | {kind: 'none'}
  | {kind: 'token'; token: string}
  | {kind: 'file'; path: string}
  | {kind: 'client-credentials'; clientId: string; clientSecret: string; issuer?: string; scope?: string; audience?: string}
  | {kind: 'login'; clientId?: string; scope?: string; timeoutMs: number; redirectPort: number; announce(line: string): void; saveTo?: string; interactive?: boolean}
  | {kind: 'exchange'; idToken: {file: string} | {env: string}; issuer?: string; scope?: string}

/** Thrown with a message that says what to fix; never contains a token or secret. */
export class TokenError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TokenError'
  }
}

/** Gets the token from its source. `mcpUrl` is the endpoint the token is for. */
export async function obtainToken(source: TokenSource, mcpUrl: URL, signal: AbortSignal): Promise<string | undefined> {
  switch (source.kind) {
    case 'none':
      return undefined
    case 'token':
      return nonEmpty(source.token, '--token is empty')
    case 'file': {
      let text: string
      try {
        text = await readFile(source.path, 'utf8')
      } catch (error) {
        throw new TokenError(`cannot read --token-file ${source.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
      }
      return nonEmpty(text.trim(), `--token-file ${source.path} is empty`)
    }
    case 'client-credentials':
      return clientCredentialsToken(source, mcpUrl, signal)
    case 'login':
      return interactiveLogin(source, mcpUrl, signal)
    case 'exchange':
      return exchangedToken(source, mcpUrl, signal)
  }
}

function nonEmpty(token: string, message: string): string {
  if (!token.trim()) throw new TokenError(message)
  return token.trim()
}

/** The issuer from --issuer, else the first authorization server in the resource's metadata. */
async function discoverIssuer(explicit: string | undefined, mcpUrl: URL): Promise<{issuer: string; resource?: string}> {
  let resource: string | undefined
  try {
    const metadata = await discoverOAuthProtectedResourceMetadata(mcpUrl)
    resource = metadata.resource
    if (!explicit) {
      const issuer = metadata.authorization_servers?.[0]
      if (!issuer) throw new TokenError(`the protected-resource metadata of ${mcpUrl} names no authorization server; give the issuer with --issuer`)
      return {issuer, resource}
    }
  } catch (error) {
    if (!explicit) throw error instanceof TokenError ? error : new TokenError(`cannot discover the authorization server of ${mcpUrl} (${(error as Error).message}); give it with --issuer`)
  }
  return {issuer: explicit!, resource}
}

/**
 * A server that is its own authorization server (kmcp: issuer and resource share the public
 * origin) but was reached at another origin (a port-forward, a Service address): its token
 * endpoint is reached the same way, since the public origin may not be reachable from here.
 */
function reachedAt(url: string, issuer: string, resource: string | undefined, mcpUrl: URL): string {
  if (!resource || !URL.canParse(url) || !URL.canParse(resource) || !URL.canParse(issuer)) return url
  const publicOrigin = new URL(resource).origin
  if (new URL(issuer).origin !== publicOrigin || publicOrigin === mcpUrl.origin) return url
  const parsed = new URL(url)
  return parsed.origin === publicOrigin ? new URL(`${parsed.pathname}${parsed.search}`, mcpUrl.origin).href : url
}

async function tokenEndpointOf(explicitIssuer: string | undefined, mcpUrl: URL) {
  const {issuer, resource} = await discoverIssuer(explicitIssuer, mcpUrl)
  const metadataIssuer = explicitIssuer ? issuer : reachedAt(issuer, issuer, resource, mcpUrl)
  const metadata = await discoverAuthorizationServerMetadata(metadataIssuer).catch((error: Error) => {
    throw new TokenError(`cannot read the authorization server metadata of ${metadataIssuer}: ${error.message}`)
  })
  if (!metadata) throw new TokenError(`cannot read the authorization server metadata of ${metadataIssuer}: no answer, or no metadata document there; give the issuer with --issuer`)
  if (!metadata.token_endpoint) throw new TokenError(`${issuer} publishes no token endpoint in its metadata`)
  const tokenEndpoint = explicitIssuer ? metadata.token_endpoint : reachedAt(metadata.token_endpoint, issuer, resource, mcpUrl)
  return {issuer, resource, metadata: {...metadata, token_endpoint: tokenEndpoint}}
}

/**
 * RFC 8693 token exchange: the OIDC ID token of the CI platform (a file, or an environment
 * variable) for a kmcp token, at the server's own token endpoint.
 */
async function exchangedToken(source: Extract<TokenSource, {kind: 'exchange'}>, mcpUrl: URL, signal: AbortSignal): Promise<string> {
  let idToken: string
  if ('file' in source.idToken) {
    try {
      idToken = (await readFile(source.idToken.file, 'utf8')).trim()
    } catch (error) {
      throw new TokenError(`cannot read --id-token-file ${source.idToken.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
  } else idToken = process.env[source.idToken.env]?.trim() ?? ''
  if (!idToken) throw new TokenError('file' in source.idToken ? `--id-token-file ${source.idToken.file} is empty` : `--id-token-env: the environment variable ${source.idToken.env} is empty or not set`)
  const {resource, metadata} = await tokenEndpointOf(source.issuer, mcpUrl)
  const body = new URLSearchParams({grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: idToken, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token', requested_token_type: 'urn:ietf:params:oauth:token-type:access_token'})
  if (resource) body.set('resource', resource)
  if (source.scope) body.set('scope', source.scope)
  const response = await fetch(metadata.token_endpoint, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded', accept: 'application/json'}, body, signal})
  const answer = (await response.json().catch(() => ({}))) as {access_token?: string; error?: string; error_description?: string}
  if (!response.ok || !answer.access_token) {
    const reason = answer.error ? `${answer.error}${answer.error_description ? `: ${answer.error_description}` : ''}` : `HTTP ${response.status}`
    throw new TokenError(`the token endpoint ${metadata.token_endpoint} refused to exchange the ID token (${reason})`)
  }
  return answer.access_token
}

/** OAuth client credentials grant against the issuer's token endpoint. */
async function clientCredentialsToken(source: Extract<TokenSource, {kind: 'client-credentials'}>, mcpUrl: URL, signal: AbortSignal): Promise<string> {
  const {resource, metadata} = await tokenEndpointOf(source.issuer, mcpUrl)
  const body = new URLSearchParams({grant_type: 'client_credentials'})
  if (source.scope) body.set('scope', source.scope)
  // Auth0 selects the API with "audience"; other servers use the RFC 8707 resource indicator.
  if (source.audience) body.set('audience', source.audience)
  else if (resource) body.set('resource', resource)
  const headers: Record<string, string> = {'content-type': 'application/x-www-form-urlencoded', accept: 'application/json'}
  const methods = metadata.token_endpoint_auth_methods_supported
  if (!methods || methods.includes('client_secret_basic')) {
    const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
    headers.authorization = `Basic ${Buffer.from(`${encode(source.clientId)}:${encode(source.clientSecret)}`).toString('base64')}`
  } else {
    body.set('client_id', source.clientId)
    body.set('client_secret', source.clientSecret)
  }
  const response = await fetch(metadata.token_endpoint, {method: 'POST', headers, body, signal})
  const answer = (await response.json().catch(() => ({}))) as {access_token?: string; error?: string; error_description?: string}
  if (!response.ok || !answer.access_token) {
    const reason = answer.error ? `${answer.error}${answer.error_description ? `: ${answer.error_description}` : ''}` : `HTTP ${response.status}`
    throw new TokenError(`the token endpoint ${metadata.token_endpoint} refused the client credentials (${reason})`)
  }
  return answer.access_token
}

/**
 * Authorization code flow with PKCE for a human: listens on a loopback redirect URI, prints the
 * authorization URL, and waits for the browser to come back (until the deadline). Discovery,
 * dynamic client registration (when no client id is given) and the code exchange are the SDK's.
 */
async function interactiveLogin(source: Extract<TokenSource, {kind: 'login'}>, mcpUrl: URL, signal: AbortSignal): Promise<string> {
  const saved = source.saveTo ? readSavedLogin(source.saveTo, mcpUrl) : {url: mcpUrl.href}
  const valid = stillValidAccessToken(saved)
  if (valid) return valid
  if (source.interactive === false && !saved.tokens?.refresh_token) throw new TokenError(`no saved login for ${mcpUrl.href} that can be refreshed; log in first: kmcp login --url ${mcpUrl.href}`)
  const state = randomBytes(16).toString('base64url')
  // The client was registered with its redirect URI: reuse that port when it is free.
  let callback: Awaited<ReturnType<typeof listenForCallback>>
  try {
    callback = await listenForCallback(source.redirectPort || saved.redirectPort || 0, state)
  } catch (error) {
    if (source.redirectPort || !saved.redirectPort) throw error
    saved.client = undefined
    callback = await listenForCallback(0, state)
  }
  saved.redirectPort = Number(new URL(callback.redirectUrl).port)
  try {
    const provider = new LoopbackLoginProvider(callback.redirectUrl, source, state, saved)
    const first = await auth(provider, {serverUrl: mcpUrl, scope: source.scope})
    if (first === 'AUTHORIZED') return provider.accessToken()
    const code = await withDeadline(callback.code, source.timeoutMs, signal)
    await auth(provider, {serverUrl: mcpUrl, authorizationCode: code, scope: source.scope})
    return provider.accessToken()
  } finally {
    callback.server.close()
    callback.server.closeAllConnections()
  }
}

async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, signal: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TokenError(`no browser login within ${timeoutMs / 1000} s (raise the limit with --login-timeout)`)), timeoutMs)
    signal.addEventListener('abort', () => reject(new TokenError(`login abandoned: ${(signal.reason as Error)?.message ?? 'aborted'}`)), {once: true})
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** A one-shot loopback HTTP server that receives the authorization response. */
async function listenForCallback(port: number, state: string): Promise<{server: Server; redirectUrl: string; code: Promise<string>}> {
  let deliver!: (code: string) => void
  let refuse!: (error: Error) => void
  const code = new Promise<string>((resolve, reject) => {
    deliver = resolve
    refuse = reject
  })
  code.catch(() => undefined)
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (url.pathname !== '/callback') {
      res.writeHead(404).end()
      return
    }
    const finish = (status: number, text: string) => {
      res.writeHead(status, {'content-type': 'text/plain; charset=utf-8'}).end(text)
    }
    if (url.searchParams.get('state') !== state) {
      finish(400, 'kmcp test: this answer does not belong to the login in progress (state mismatch). Start again.')
      return
    }
    const error = url.searchParams.get('error')
    if (error) {
      finish(400, `kmcp test: login failed (${error}). You can close this tab.`)
      refuse(new TokenError(`the authorization server answered ${error}${url.searchParams.get('error_description') ? `: ${url.searchParams.get('error_description')}` : ''}`))
      return
    }
    const received = url.searchParams.get('code')
    if (!received) {
      finish(400, 'kmcp test: the answer has no authorization code.')
      return
    }
    finish(200, 'kmcp test: logged in. You can close this tab and return to the terminal.')
    deliver(received)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new TokenError(error.code === 'EADDRINUSE' ? `--redirect-port ${port} is in use; choose another` : `cannot listen for the login redirect: ${error.message}`)),
    )
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const actualPort = typeof address === 'object' && address ? address.port : port
  return {server, redirectUrl: `http://127.0.0.1:${actualPort}/callback`, code}
}

/** In-memory OAuth client state for one login. */
class LoopbackLoginProvider implements OAuthClientProvider {
  private information?: OAuthClientInformationMixed
  private stored?: OAuthTokens
  private verifier = ''
  private readonly redirect: string
  private readonly source: Extract<TokenSource, {kind: 'login'}>
  private readonly stateValue: string

  private readonly saved: SavedLogin

  constructor(redirect: string, source: Extract<TokenSource, {kind: 'login'}>, state: string, saved: SavedLogin) {
    this.redirect = redirect
    this.source = source
    this.stateValue = state
    this.saved = saved
    this.information = source.clientId ? {client_id: source.clientId} : saved.client
    if (!source.clientId || saved.client?.client_id === source.clientId) this.stored = saved.tokens
  }

  /** Keeps the client and the tokens (with the refresh token) for the next run, when --login saves. */
  private persist(): void {
    if (!this.source.saveTo) return
    this.saved.client = this.information
    this.saved.tokens = this.stored
    this.saved.expiresAt = this.stored?.expires_in ? Date.now() + this.stored.expires_in * 1000 : undefined
    writeSavedLogin(this.source.saveTo, this.saved)
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'client') this.information = this.source.clientId ? {client_id: this.source.clientId} : undefined
    if (scope === 'all' || scope === 'tokens') this.stored = undefined
    this.persist()
  }

  get redirectUrl(): string {
    return this.redirect
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'kmcp test',
      redirect_uris: [this.redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...(this.source.scope ? {scope: this.source.scope} : {}),
    }
  }

  state(): string {
    return this.stateValue
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.information
  }

  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.information = information
    this.persist()
  }

  tokens(): OAuthTokens | undefined {
    return this.stored
  }

  saveTokens(tokens: OAuthTokens): void {
    this.stored = tokens
    this.persist()
  }

  redirectToAuthorization(authorizationUrl: URL): void {
    if (this.source.interactive === false) throw new TokenError(`no saved login for ${this.saved.url} that can be refreshed; log in first: kmcp login --url ${this.saved.url}`)
    this.source.announce(`Open this URL in a browser to log in (waiting up to ${this.source.timeoutMs / 1000} s):\n${authorizationUrl.href}`)
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier
  }

  codeVerifier(): string {
    return this.verifier
  }

  accessToken(): string {
    if (!this.stored?.access_token) throw new TokenError('the login finished without an access token')
    return this.stored.access_token
  }
}

/** The plugin that obtains the token before the connection is made (HTTP runs with a token source). */
export function tokenPlugin(host: McpSessionHost, source: TokenSource, mcpUrl: URL): TestPlugin {
  return {
    name: TOKEN_PLUGIN,
    group: 'session',
    description: 'Obtain the bearer token (--token, --token-file, --client-id/--client-secret, --id-token-file/--id-token-env or --login)',
    needsConnection: false,
    transports: ['http'],
    test: async (session) => {
      try {
        host.useToken(await obtainToken(source, mcpUrl, session.signal))
        return pass(`obtained a token (${source.kind})`)
      } catch (error) {
        return fail(error instanceof Error ? error.message : String(error))
      }
    },
  }
}
