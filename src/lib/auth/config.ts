import {createHash, hkdfSync} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {isIP} from 'node:net'
import {dirname, join} from 'node:path'
import {parse as parseYaml} from 'yaml'
import type {RedisSettings} from '../storage/redis.ts'
import {redisSettings} from './redis-config.ts'
import {storageKeyRing, type StorageKey} from '../storage/encrypted.ts'
import {parseOidcYaml, type OidcYaml} from './config-schema.ts'
import {MachineConfigError, loadMachineClients, type MachineClient} from './machine-clients.ts'
import {loadWorkloadIssuers, type WorkloadIssuer} from './workload-issuers.ts'
import {referenceSecret} from './reference-compat.ts'

/** Everything the OAuth facade needs, resolved and validated. */
export interface AuthConfig {
  authType: 'auth0' | 'oidc'
  /** The upstream identity provider's issuer, exactly as it writes it in tokens. */
  issuer: string
  /** auth0: the API identifier sent as `audience`; oidc: expected `aud` of JWT access tokens, if any. */
  audience?: string
  clientId: string
  clientSecret?: string
  upstreamTokenAuthMethod: 'client_secret_post' | 'client_secret_basic' | 'none'
  /** Scopes kmcp asks the identity provider for. */
  upstreamScopes: string[]
  /** Extra parameters of the upstream authorization request (e.g. Google's access_type=offline). */
  upstreamAuthorizeParams: Record<string, string>
  /** kmcp's public origin: issuer of its own tokens and base of every endpoint it advertises. */
  publicUrl: string
  /** Scopes of kmcp's own tokens; every request to /mcp needs all of them. */
  mcpScopes: string[]
  /** Hosts whose client ID metadata documents kmcp reads; empty turns the feature off. */
  cimdAllowedHosts: string[]
  signingKeys: SigningKey[]
  storageKeys: StorageKey[]
  /** Undefined: the in-memory store (loopback development only). */
  redis?: RedisSettings
  /** Where the Kubernetes username comes from: an immutable claim, and the prefix put before it. */
  kubernetesUsername: ClaimMapping
  /** Where Kubernetes groups come from, and their prefix. */
  kubernetesGroups: ClaimMapping
  /** Kubernetes usernames (prefixed) allowed to use admin tools. */
  adminUsers: string[]
  /** Prefixed groups allowed to use admin tools. */
  adminGroups: string[]
  /** Optional allow-list: when any is non-empty, only matching users may sign in. */
  allowedUsers: string[]
  allowedGroups: string[]
  /** Domains of verified email addresses that may sign in. */
  allowedEmailDomains: string[]
  accessTokenLifetimeSeconds: number
  refreshTokenLifetimeSeconds: number
  rateLimits: RateLimits
  /**
   * Addresses (or CIDR ranges) of reverse proxies whose X-Forwarded-For is believed. Empty: the
   * socket's peer address is the client's, whatever the headers say.
   */
  trustedProxies: string[]
  /** `machine_clients`: callers of the client_credentials grant. */
  machineClients: MachineClient[]
  /** `trusted_workload_issuers`: whose ID tokens the token-exchange grant accepts. */
  workloadIssuers: WorkloadIssuer[]
  /** Where the settings came from, for messages. */
  source: string
}

/** Requests allowed per client address (or client_id) in one window; 0 turns a limit off. */
export interface RateLimits {
  windowSeconds: number
  /** POST /register. */
  registerPerIp: number
  /** POST /token, counted per address and, separately, per client_id. */
  tokenPerIp: number
  tokenPerClient: number
  /** GET /authorize and the consent form's POST, together. */
  authorizePerIp: number
  /** POST /revoke. */
  revokePerIp: number
  /** GET /auth/callback. */
  callbackPerIp: number
  /** Requests to the MCP endpoint without a valid token. */
  mcpUnauthenticatedPerIp: number
}

/** YAML key under `rate_limits` → setting and default. Real clients stay far below these. */
const RATE_LIMIT_DEFAULTS = {
  window_seconds: ['windowSeconds', 60],
  register_per_ip: ['registerPerIp', 10],
  token_per_ip: ['tokenPerIp', 60],
  token_per_client: ['tokenPerClient', 60],
  authorize_per_ip: ['authorizePerIp', 30],
  revoke_per_ip: ['revokePerIp', 30],
  callback_per_ip: ['callbackPerIp', 30],
  mcp_unauthenticated_per_ip: ['mcpUnauthenticatedPerIp', 120],
} as const satisfies Record<string, readonly [keyof RateLimits, number]>

export interface ClaimMapping {
  claim: string
  prefix: string
}

/** The prefix of Kubernetes usernames and groups from this identity provider (as the API server's own OIDC authenticator does). */
export const DEFAULT_KUBERNETES_PREFIX = 'oidc:'

export interface SigningKey {
  kid: string
  key: Uint8Array
}

export {AuthConfigError} from './config-error.ts'
import {AuthConfigError} from './config-error.ts'

type Yaml = Record<string, unknown>

interface LoadOptions {
  /** The configuration file: --oidc-config, or the default path. */
  path: string
  /** The path came from --oidc-config, so it must exist. */
  explicit: boolean
  /** The HTTP server listens on loopback only (allows http:// URLs and the in-memory store). */
  loopback: boolean
  env?: NodeJS.ProcessEnv
  adminUsers?: string[]
  adminGroups?: string[]
}

function isLoopbackUrl(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname)
}

/**
 * Reads --oidc-config (YAML) then the environment, then the secret files they name. Every missing
 * or malformed setting stops start-up with a message naming the key and where it was looked for;
 * no key is ever generated behind the user's back.
 */
export function loadAuthConfig(options: LoadOptions): AuthConfig {
  const env = options.env ?? process.env
  const path = options.path
  let yaml: Yaml = {}
  if (existsSync(path)) {
    try {
      const parsed: unknown = parseYaml(readFileSync(path, 'utf8'))
      if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new Error('the top level is not a mapping of keys')
      yaml = (parsed ?? {}) as Yaml
    } catch (error) {
      throw new AuthConfigError(`cannot read ${path} (--oidc-config): ${(error as Error).message}`)
    }
    const checked = parseOidcYaml(yaml, path)
    if (!checked.ok) throw new AuthConfigError(checked.message)
  } else if (options.explicit) {
    throw new AuthConfigError(`the OIDC configuration file ${path} (from --oidc-config) does not exist.`)
  }
  const where = existsSync(path) ? path : `${path} (not present)`

  /** A string setting: YAML key first, then the first environment variable that is set. */
  const text = (key: string, envNames: string[]): string | undefined => {
    const fromYaml = yaml[key]
    if (fromYaml !== undefined && fromYaml !== null && fromYaml !== '') {
      if (typeof fromYaml !== 'string' && typeof fromYaml !== 'number') throw new AuthConfigError(`\`${key}\` in ${path} must be a string.`)
      return String(fromYaml).trim()
    }
    for (const name of envNames) if (env[name]?.trim()) return env[name]!.trim()
    return undefined
  }
  const required = (key: string, envNames: string[]): string => {
    const value = text(key, envNames)
    if (!value) throw new AuthConfigError(`missing \`${key}\`: set it in ${where} or the environment variable ${envNames.join(' / ')}.`)
    return value
  }
  /** A secret: `<key>_file` (YAML), then `<key>` (YAML), then the environment variable, then `<ENV>_FILE`. */
  const secret = (key: string, envName: string): {value: string; from: string} | undefined => {
    const file = text(`${key}_file`, [`${envName}_FILE`])
    if (file) {
      try {
        return {value: readFileSync(file, 'utf8').trim(), from: `${file} (\`${key}_file\`)`}
      } catch (error) {
        throw new AuthConfigError(`cannot read ${file} (\`${key}_file\`): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`)
      }
    }
    const value = text(key, [envName])
    return value ? {value, from: `\`${key}\` / ${envName}`} : referenceSecret(key, env)
  }
  const list = (key: string, envName: string, fallback: string[]): string[] => {
    const value = yaml[key] ?? env[envName]
    if (value === undefined || value === null || value === '') return fallback
    if (Array.isArray(value)) return value.map(String).filter(Boolean)
    return String(value).split(/[\s,]+/).filter(Boolean)
  }
  const seconds = (key: string, fallback: number): number => {
    const value = yaml[key]
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new AuthConfigError(`\`${key}\` in ${path} must be a whole number of seconds.`)
    return value
  }
  const url = (key: string, envNames: string[], value: string): string => {
    let parsed: URL
    try {
      parsed = new URL(value)
    } catch {
      throw new AuthConfigError(`\`${key}\` (${envNames.join(' / ')}) is not a URL: ${JSON.stringify(value)}.`)
    }
    if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && isLoopbackUrl(parsed))) {
      throw new AuthConfigError(`\`${key}\` must be an https:// URL (http:// is accepted only for loopback addresses, for tests and local development); got ${value}.`)
    }
    return value
  }

  const authType = (text('auth_type', ['OIDC_AUTH_TYPE']) ?? 'oidc').toLowerCase()
  if (authType !== 'auth0' && authType !== 'oidc') {
    throw new AuthConfigError(`\`auth_type\` must be auth0 or oidc (got ${JSON.stringify(authType)}; from ${where} or OIDC_AUTH_TYPE). For Keycloak, Okta, Entra ID, Dex or Google use oidc.`)
  }
  const issuer = url('issuer', ['OIDC_ISSUER'], required('issuer', ['OIDC_ISSUER']))
  const audience = authType === 'auth0' ? required('audience', ['OIDC_AUDIENCE']) : text('audience', ['OIDC_AUDIENCE'])
  const clientId = required('client_id', ['OIDC_CLIENT_ID', 'AUTH0_CLIENT_ID'])
  const clientSecret = secret('client_secret', authType === 'auth0' ? 'AUTH0_CLIENT_SECRET' : 'OIDC_CLIENT_SECRET')
  if (!clientSecret && authType === 'auth0') {
    throw new AuthConfigError(`missing the Auth0 client secret: set \`client_secret_file\` in ${where}, or AUTH0_CLIENT_SECRET.`)
  }
  const publicUrl = url('public_url', ['PUBLIC_URL'], required('public_url', ['PUBLIC_URL'])).replace(/\/+$/, '')
  if (new URL(publicUrl).pathname !== '/' || new URL(publicUrl).search) {
    throw new AuthConfigError(`\`public_url\` must be an origin without a path (e.g. https://kmcp.example.com); got ${publicUrl}.`)
  }

  const signing = secret('jwt_signing_key', 'JWT_SIGNING_KEY')
  if (!signing) throw new AuthConfigError(`missing the token signing key: set \`jwt_signing_key_file\` in ${where} (a file holding 64 hex characters, e.g. from \`openssl rand -hex 32\`), or JWT_SIGNING_KEY. kmcp never generates one: tokens must survive restarts and be shared by replicas.`)
  const signingKeys = parseKeyList(signing.value).map((entry, index) => {
    try {
      return signingKeyFrom(entry)
    } catch (error) {
      throw new AuthConfigError(`signing key ${index + 1} from ${signing.from} ${(error as Error).message}.`)
    }
  })

  const storage = secret('storage_encryption_key', 'STORAGE_ENCRYPTION_KEY')
  if (!storage) throw new AuthConfigError(`missing the storage encryption key: set \`storage_encryption_key_file\` in ${where} (a Fernet key: 32 random bytes in URL-safe base64, e.g. from \`openssl rand -base64 32 | tr '+/' '-_'\`), or STORAGE_ENCRYPTION_KEY.`)
  // Keys retired by `kmcp secrets create --rotate` still decrypt: the chart mounts them beside
  // the current key, newest first, one per line.
  const storageFile = text('storage_encryption_key_file', ['STORAGE_ENCRYPTION_KEY_FILE'])
  const previousFile = text('previous_storage_encryption_keys_file', ['PREVIOUS_STORAGE_ENCRYPTION_KEYS_FILE']) ?? (storageFile ? join(dirname(storageFile), 'previous_storage_encryption_keys') : undefined)
  const previous = previousFile && existsSync(previousFile) ? readFileSync(previousFile, 'utf8') : ''
  let storageKeys: StorageKey[]
  try {
    storageKeys = storageKeyRing([...parseKeyList(storage.value), ...parseKeyList(previous)])
  } catch (error) {
    throw new AuthConfigError(`the storage encryption key from ${storage.from} ${(error as Error).message}.`)
  }

  const redis = redisSettings(yaml, env, path)
  if (!redis && !options.loopback) {
    throw new AuthConfigError(`missing \`redis\`: set \`redis.url\` (or redis.host/port) in ${where}, or REDIS_URL. Tokens and registered clients must live in Redis when kmcp is reachable from other machines; the in-memory store is for loopback development only.`)
  }

  const method = text('token_endpoint_auth_method', ['OIDC_TOKEN_ENDPOINT_AUTH_METHOD']) ?? (clientSecret ? 'client_secret_post' : 'none')
  if (method !== 'client_secret_post' && method !== 'client_secret_basic' && method !== 'none') {
    throw new AuthConfigError(`\`token_endpoint_auth_method\` must be client_secret_post, client_secret_basic or none (got ${method}).`)
  }
  if (method !== 'none' && !clientSecret) {
    throw new AuthConfigError(`\`token_endpoint_auth_method\` is ${method} but no client secret is set: set \`client_secret_file\` in ${where} or OIDC_CLIENT_SECRET.`)
  }

  const mcpScopes = list('mcp_scopes', 'KMCP_MCP_SCOPES', ['kmcp'])
  let machineClients: MachineClient[]
  let workloadIssuers: WorkloadIssuer[]
  try {
    machineClients = loadMachineClients(yaml.machine_clients as OidcYaml['machine_clients'], path, env, mcpScopes)
    workloadIssuers = loadWorkloadIssuers(yaml.trusted_workload_issuers as OidcYaml['trusted_workload_issuers'], path, {audiences: [publicUrl], scopes: mcpScopes})
  } catch (error) {
    if (error instanceof MachineConfigError) throw new AuthConfigError(error.message)
    throw error
  }

  return {
    authType,
    issuer,
    audience,
    clientId,
    clientSecret: clientSecret?.value,
    upstreamTokenAuthMethod: method,
    upstreamScopes: list('required_scopes', 'OIDC_REQUIRED_SCOPES', list('scope', 'OIDC_SCOPE', ['openid', 'profile', 'email', 'offline_access'])),
    upstreamAuthorizeParams: stringMap(yaml.upstream_authorize_params, 'upstream_authorize_params', path),
    publicUrl,
    mcpScopes,
    cimdAllowedHosts: list('cimd_allowed_hosts', 'KMCP_CIMD_ALLOWED_HOSTS', []),
    signingKeys,
    storageKeys,
    redis,
    kubernetesUsername: claimMapping(yaml.kubernetes_username as OidcYaml['kubernetes_username'], 'sub', path),
    kubernetesGroups: claimMapping(yaml.kubernetes_groups as OidcYaml['kubernetes_groups'], text('groups_claim', ['OIDC_GROUPS_CLAIM']) ?? 'groups', path),
    adminUsers: options.adminUsers ?? list('admin_users', 'KMCP_ADMIN_USERS', []),
    adminGroups: options.adminGroups ?? list('admin_groups', 'KMCP_ADMIN_GROUPS', []),
    allowedUsers: list('allowed_users', 'KMCP_ALLOWED_USERS', []),
    allowedGroups: list('allowed_groups', 'KMCP_ALLOWED_GROUPS', []),
    allowedEmailDomains: list('allowed_email_domains', 'KMCP_ALLOWED_EMAIL_DOMAINS', []).map((d) => d.toLowerCase().replace(/^@/, '')),
    accessTokenLifetimeSeconds: seconds('access_token_lifetime_seconds', 3600),
    refreshTokenLifetimeSeconds: seconds('refresh_token_lifetime_seconds', 30 * 24 * 3600),
    rateLimits: rateLimits(yaml.rate_limits as OidcYaml['rate_limits']),
    trustedProxies: list('trusted_proxies', 'KMCP_TRUSTED_PROXIES', []).map((entry) => checkProxyEntry(entry, path)),
    machineClients,
    workloadIssuers,
    source: where,
  }
}

/** Display claims anyone can change at most providers: never a Kubernetes identity. */
const MUTABLE_CLAIMS = new Set(['name', 'preferred_username', 'username', 'nickname', 'given_name', 'family_name'])

function claimMapping(value: OidcYaml['kubernetes_username'], defaultClaim: string, path: string): ClaimMapping {
  const claim = value?.claim ?? defaultClaim
  const prefix = value?.prefix ?? DEFAULT_KUBERNETES_PREFIX
  if (prefix.startsWith('system:')) throw new AuthConfigError(`the prefix in ${path} may not start with system: (Kubernetes reserves it); use e.g. ${DEFAULT_KUBERNETES_PREFIX}`)
  if (defaultClaim === 'sub' && MUTABLE_CLAIMS.has(claim)) {
    throw new AuthConfigError(`\`kubernetes_username.claim\` in ${path} is ${claim}, which users can change at most identity providers: use an immutable claim such as sub (default), oid (Entra ID), or email (only honoured when email_verified is true).`)
  }
  return {claim, prefix}
}

/** Parameters kmcp sets itself cannot be overridden: they carry the PKCE and state protections. */
const RESERVED_AUTHORIZE_PARAMS = new Set(['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method'])

function stringMap(value: unknown, key: string, path: string): Record<string, string> {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw new AuthConfigError(`\`${key}\` in ${path} must be a mapping of parameter names to values.`)
  const out: Record<string, string> = {}
  for (const [name, v] of Object.entries(value)) {
    if (RESERVED_AUTHORIZE_PARAMS.has(name)) throw new AuthConfigError(`\`${key}\` in ${path} may not set ${name}: kmcp sets it itself.`)
    out[name] = String(v)
  }
  return out
}

/** `rate_limits` (already type-checked by the schema) over the defaults. */
function rateLimits(value: OidcYaml['rate_limits']): RateLimits {
  const limits = Object.fromEntries(Object.values(RATE_LIMIT_DEFAULTS)) as unknown as RateLimits
  for (const [key, given] of Object.entries(value ?? {})) {
    if (given !== undefined) limits[RATE_LIMIT_DEFAULTS[key as keyof typeof RATE_LIMIT_DEFAULTS][0]] = given
  }
  return limits
}

/** An IP address or a CIDR range (10.0.0.0/8, fd00::/8). */
function checkProxyEntry(entry: string, path: string): string {
  const [address, prefix, extra] = entry.split('/')
  const family = isIP(address)
  const bits = prefix === undefined ? undefined : Number(prefix)
  const validPrefix = bits === undefined || (/^\d+$/.test(prefix) && bits <= (family === 6 ? 128 : 32))
  if (family === 0 || extra !== undefined || !validPrefix) {
    throw new AuthConfigError(`\`trusted_proxies\` (${path} or KMCP_TRUSTED_PROXIES) must list IP addresses or CIDR ranges such as 10.0.0.0/8; got ${JSON.stringify(entry.slice(0, 100))}.`)
  }
  return entry
}

function parseKeyList(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean)
}

/**
 * 64 hex characters are used as the raw 256-bit key (what `openssl rand -hex 32` and the
 * reference's Helm secret produce); any other string of at least 32 characters goes through HKDF.
 */
export function signingKeyFrom(text: string): SigningKey {
  let key: Uint8Array
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex')
  else if (text.length >= 32) key = Buffer.from(hkdfSync('sha256', Buffer.from(text, 'utf8'), 'mcp-jwt-v1', 'kmcp-access-token', 32))
  else throw new Error('is too short: use 64 hex characters (openssl rand -hex 32)')
  return {kid: createHash('sha256').update(key).digest('base64url').slice(0, 12), key}
}
