// A real OpenID provider (panva's oidc-provider, OpenID certified) in this process on loopback,
// standing in for Auth0/Keycloak in the OAuth tests. Its sign-in and consent screens are replaced
// by an automatic approval for the user the test chose, so a fetch-based "browser" can walk the
// whole redirect chain.
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createTlsServer} from 'node:https'
import type {AddressInfo} from 'node:net'
import {exportJWK, generateKeyPair, type JWK} from 'jose'
import Provider from 'oidc-provider'

export interface TestUser {
  preferred_username?: string
  name?: string
  email?: string
  email_verified?: boolean
  groups?: string[]
}

export const TEST_USERS: Record<string, TestUser> = {
  alice: {preferred_username: 'alice', name: 'Alice Example', email: 'alice@example.com', email_verified: true, groups: ['team-a']},
  bob: {preferred_username: 'bob', name: 'Bob Example', email: 'bob@example.com', email_verified: true, groups: ['team-b']},
  /** An identity provider that hands out a Kubernetes system group (misconfigured or hostile), also disguised by a space. */
  mallory: {preferred_username: 'mallory', groups: ['system:masters', ' system:masters', 'system:masters\t', 'kubeadm:cluster-admins', 'team-m']},
  /**
   * Another account that signed up with alice's display name, user name and (unverified) email
   * address: only its subject (sub = "alice-impostor") differs.
   */
  'alice-impostor': {preferred_username: 'alice', name: 'Alice Example', email: 'alice@example.com', email_verified: false, groups: []},
}

export interface TestIdentityProvider {
  /** The issuer, e.g. http://127.0.0.1:PORT (https://HOST:PORT with `tls`; no trailing slash). */
  issuer: string
  /** The client kmcp uses upstream. */
  clientId: string
  clientSecret: string
  /** The API identifier access tokens are issued for (Auth0's `audience`). */
  audience: string
  /** The RSA public key the provider signs with (for the HS/RS confusion test). */
  publicJwk: JWK
  /** Who the automatic sign-in logs in as from now on. */
  signInAs(user: string): void
  /** Number of token requests (code and refresh grants) the provider answered. */
  tokenRequests(): number
  close(): Promise<void>
}

/**
 * Starts the provider. `kmcpCallback` is kmcp's fixed redirect URI (PUBLIC_URL/auth/callback);
 * `accessTokenTtl` is short in tests that exercise the transparent upstream refresh. By default it
 * listens on http://127.0.0.1; `host` and `tls` (a PEM key and certificate for that host) make it
 * an https issuer other network namespaces reach, e.g. kmcp pods on the real node.
 */
export async function startIdentityProvider(options: {kmcpCallbacks: string[]; accessTokenTtl?: number; host?: string; tls?: {key: string; cert: string}}): Promise<TestIdentityProvider> {
  const {privateKey, publicKey} = await generateKeyPair('RS256', {extractable: true})
  const privateJwk = {...(await exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig'}
  const publicJwk = {...(await exportJWK(publicKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig'}
  const server: Server = options.tls ? createTlsServer({key: options.tls.key, cert: options.tls.cert}) : createServer()
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const issuer = `${options.tls ? 'https' : 'http'}://${host}:${(server.address() as AddressInfo).port}`
  const clientId = 'kmcp-upstream'
  const clientSecret = 'upstream-client-secret-for-tests-0123456789'
  const audience = 'https://kmcp.test/api'
  let currentUser = 'alice'
  let tokenCount = 0

  const provider = new Provider(issuer, {
    jwks: {keys: [privateJwk]},
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.kmcpCallbacks,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    pkce: {required: () => true},
    extraParams: ['audience'],
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    claims: {openid: ['sub'], profile: ['preferred_username', 'name', 'groups'], email: ['email', 'email_verified']},
    conformIdTokenClaims: false,
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({sub, ...TEST_USERS[sub]}),
    }),
    features: {
      devInteractions: {enabled: false},
      revocation: {enabled: true},
      resourceIndicators: {
        enabled: true,
        useGrantedResource: async () => true,
        defaultResource: async () => audience,
        getResourceServerInfo: async () => ({
          scope: 'openid profile email',
          audience,
          accessTokenFormat: 'jwt',
          accessTokenTTL: options.accessTokenTtl ?? 3600,
          jwt: {sign: {alg: 'RS256'}},
        }),
      },
    },
    ttl: {AccessToken: options.accessTokenTtl ?? 3600},
    extraTokenClaims: async (_ctx: unknown, token: {accountId?: string}) => ({preferred_username: token.accountId ? TEST_USERS[token.accountId]?.preferred_username : undefined}),
    issueRefreshToken: async (_ctx: unknown, client: {grantTypeAllowed(type: string): boolean}) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    cookies: {keys: ['oidc-test-cookie-key']},
  } as never)
  provider.on('grant.success', () => {
    tokenCount++
  })

  const callback = provider.callback()
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/interaction/')) {
      approve(provider, req, res, currentUser).catch((error: unknown) => {
        res.writeHead(500, {'content-type': 'text/plain'})
        res.end(`interaction failed: ${String(error)}`)
      })
      return
    }
    void callback(req, res)
  })

  return {
    issuer,
    clientId,
    clientSecret,
    audience,
    publicJwk,
    signInAs: (user) => {
      currentUser = user
    },
    tokenRequests: () => tokenCount,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The automatic sign-in and consent: logs `user` in and grants everything asked for. */
async function approve(provider: Provider, req: IncomingMessage, res: ServerResponse, user: string): Promise<void> {
  const details = await provider.interactionDetails(req, res)
  const prompt = details.prompt as {name: string; details: Record<string, unknown>}
  if (prompt.name === 'login') {
    await provider.interactionFinished(req, res, {login: {accountId: user}}, {mergeWithLastSubmission: false})
    return
  }
  const grant = new provider.Grant({accountId: details.session!.accountId!, clientId: details.params.client_id as string})
  const missingScopes = prompt.details.missingOIDCScope as string[] | undefined
  if (missingScopes) grant.addOIDCScope(missingScopes.join(' '))
  const missingClaims = prompt.details.missingOIDCClaims as string[] | undefined
  if (missingClaims) grant.addOIDCClaims(missingClaims)
  const missingResource = prompt.details.missingResourceScopes as Record<string, string[]> | undefined
  for (const [indicator, scopes] of Object.entries(missingResource ?? {})) grant.addResourceScope(indicator, scopes.join(' '))
  const grantId = await grant.save()
  await provider.interactionFinished(req, res, {consent: {grantId}}, {mergeWithLastSubmission: true})
}
