import {Flags} from '@oclif/core'
import type {TokenSource} from './tokens.ts'
import {savedLoginFile} from './saved-login.ts'

const SOURCES = ['token', 'token-file', 'client-credentials', 'login', 'id-token-file', 'id-token-env'] as const
const others = (name: (typeof SOURCES)[number]) => SOURCES.filter((source) => source !== name)

/** The flags that say where a bearer token comes from: shared by `kmcp test`, `kmcp token` and `kmcp login`. */
export const tokenFlags = {
  token: Flags.string({summary: 'HTTP: bearer token.', env: 'KMCP_TEST_TOKEN', exclusive: others('token')}),
  'token-file': Flags.string({summary: 'HTTP: file holding the bearer token.', exclusive: others('token-file')}),
  'client-credentials': Flags.boolean({default: false, summary: 'HTTP: get a token with the OAuth client credentials grant (--client-id, --client-secret; implied when both are given).', exclusive: others('client-credentials')}),
  login: Flags.boolean({default: false, summary: 'HTTP: log in with a browser (authorization code + PKCE on a loopback redirect); the refresh token is kept (0600) under the config directory and used next time.', exclusive: others('login')}),
  'id-token-file': Flags.string({summary: 'HTTP: exchange the OIDC ID token in this file (a CI platform\'s or a Kubernetes service-account token) for a kmcp token (RFC 8693).', exclusive: others('id-token-file')}),
  'id-token-env': Flags.string({summary: 'HTTP: like --id-token-file, from this environment variable.', exclusive: others('id-token-env')}),
  'client-id': Flags.string({summary: 'OAuth client id (client credentials; optional for --login, which registers a client when omitted).'}),
  'client-secret': Flags.string({summary: 'OAuth client secret (prefer the environment variable).', env: 'KMCP_TEST_CLIENT_SECRET'}),
  issuer: Flags.string({summary: 'Authorization server for client credentials and token exchange (default: from the server\'s protected-resource metadata).'}),
  scope: Flags.string({summary: 'OAuth scope to request.'}),
  audience: Flags.string({summary: 'OAuth audience to request (Auth0 APIs) instead of the resource indicator.'}),
  'login-timeout': Flags.integer({default: 300, min: 1, summary: 'How long --login waits for the browser, in seconds.'}),
  'redirect-port': Flags.integer({default: 0, min: 0, max: 65535, summary: 'Loopback port of the --login redirect URI (0: the port of the saved login, else any free port).'}),
}

export interface TokenFlagValues {
  token?: string
  'token-file'?: string
  'client-credentials': boolean
  login: boolean
  'id-token-file'?: string
  'id-token-env'?: string
  'client-id'?: string
  'client-secret'?: string
  issuer?: string
  scope?: string
  audience?: string
  'login-timeout': number
  'redirect-port': number
}

/** The token source the flags name; `fail` reports a usage error (exit 2). */
export function tokenSourceFrom(flags: TokenFlagValues, url: URL | undefined, fail: (message: string) => never): TokenSource {
  if (flags.token !== undefined) return {kind: 'token', token: flags.token}
  if (flags['token-file']) return {kind: 'file', path: flags['token-file']}
  if (flags['id-token-file']) return {kind: 'exchange', idToken: {file: flags['id-token-file']}, issuer: flags.issuer, scope: flags.scope}
  if (flags['id-token-env']) return {kind: 'exchange', idToken: {env: flags['id-token-env']}, issuer: flags.issuer, scope: flags.scope}
  if (flags.login) {
    return {
      kind: 'login',
      clientId: flags['client-id'],
      scope: flags.scope,
      timeoutMs: flags['login-timeout'] * 1000,
      redirectPort: flags['redirect-port'],
      announce: (line) => process.stderr.write(`${line}\n`),
      saveTo: url ? savedLoginFile(url) : undefined,
    }
  }
  if (flags['client-credentials'] || (flags['client-id'] && flags['client-secret'])) {
    if (!flags['client-id'] || !flags['client-secret']) fail('--client-credentials needs --client-id and --client-secret (or $KMCP_TEST_CLIENT_SECRET)')
    return {kind: 'client-credentials', clientId: flags['client-id'], clientSecret: flags['client-secret'], issuer: flags.issuer, scope: flags.scope, audience: flags.audience}
  }
  return {kind: 'none'}
}
