import {z} from 'zod'
import {machineYamlKeys} from './config-schema-machine.ts'

/**
 * The one schema of oidc.yaml. Every mapping is strict: a key kmcp does not know (a typo such as
 * `admin_group`) stops start-up with its name, instead of being ignored while the setting it was
 * meant to be silently keeps its default. Values are checked for their type here; what needs the
 * environment or the file system (URLs, secrets, keys) is checked in config.ts.
 */
const text = (what = 'a string') => z.union([z.string(), z.number()], {error: `must be ${what}`}).nullish()
const list = z.union([z.string(), z.array(z.union([z.string(), z.number()]))], {error: 'must be a list of strings (or one string separated by spaces or commas)'}).nullish()
const wholeSeconds = z.number({error: 'must be a whole number of seconds'}).int({error: 'must be a whole number of seconds'}).min(1, {error: 'must be a whole number of seconds'}).optional()
const requests = z.number({error: 'must be a whole number of requests (0 turns this limit off)'}).int({error: 'must be a whole number of requests (0 turns this limit off)'}).min(0, {error: 'must be a whole number of requests (0 turns this limit off)'}).max(1_000_000, {error: 'must be a whole number of requests (0 turns this limit off)'}).optional()

export const RATE_LIMIT_KEYS = ['window_seconds', 'register_per_ip', 'token_per_ip', 'token_per_client', 'authorize_per_ip', 'revoke_per_ip', 'callback_per_ip', 'mcp_unauthenticated_per_ip'] as const

const rateLimits = z.strictObject(
  {
    window_seconds: z.number({error: 'must be a whole number of seconds, at least 1'}).int({error: 'must be a whole number of seconds, at least 1'}).min(1, {error: 'must be a whole number of seconds, at least 1'}).max(1_000_000).optional(),
    register_per_ip: requests,
    token_per_ip: requests,
    token_per_client: requests,
    authorize_per_ip: requests,
    revoke_per_ip: requests,
    callback_per_ip: requests,
    mcp_unauthenticated_per_ip: requests,
  },
  {error: `must be a mapping (${RATE_LIMIT_KEYS.join(', ')})`},
)

const redis = z.strictObject(
  {
    url: text(),
    host: text(),
    port: text('a port number'),
    db: text('a database number'),
    password: text(),
    password_file: text(),
    sentinel_password_file: text(),
  },
  {error: 'must be a mapping (url, host, port, db, password_file, sentinel_password_file)'},
)

const claimMapping = z.strictObject(
  {
    claim: z.string({error: 'must be the name of a token claim'}).min(1, {error: 'must be the name of a token claim'}).optional(),
    prefix: z.string({error: 'must be a string (empty: no prefix)'}).optional(),
  },
  {error: 'must be a mapping (claim, prefix)'},
)

export const oidcYamlSchema = z.strictObject(
  {
    auth_type: text('auth0 or oidc'),
    issuer: text('a URL'),
    audience: text(),
    client_id: text(),
    client_secret: text(),
    client_secret_file: text('a file path'),
    token_endpoint_auth_method: text(),
    public_url: text('a URL'),
    jwt_signing_key: text(),
    jwt_signing_key_file: text('a file path'),
    storage_encryption_key: text(),
    storage_encryption_key_file: text('a file path'),
    previous_storage_encryption_keys_file: text('a file path'),
    redis: redis.nullish(),
    required_scopes: list,
    scope: list,
    upstream_authorize_params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {error: 'must be a mapping of parameter names to values'}).nullish(),
    cimd_allowed_hosts: list,
    mcp_scopes: list,
    groups_claim: text(),
    admin_users: list,
    admin_groups: list,
    kubernetes_username: claimMapping.nullish(),
    kubernetes_groups: claimMapping.nullish(),
    allowed_users: list,
    allowed_groups: list,
    allowed_email_domains: list,
    access_token_lifetime_seconds: wholeSeconds,
    refresh_token_lifetime_seconds: wholeSeconds,
    rate_limits: rateLimits.nullish(),
    trusted_proxies: list,
    ...machineYamlKeys,
    // The server modes and scope defaults share this file; src/lib/server/policy-config.ts checks their values.
    read_only: z.unknown().optional(),
    disable_destructive: z.unknown().optional(),
    toolsets: z.unknown().optional(),
    enable_tools: z.unknown().optional(),
    disable_tools: z.unknown().optional(),
    namespaces: z.unknown().optional(),
    scope_groups: z.unknown().optional(),
  },
  {error: 'the top level must be a mapping of keys'},
)

export type OidcYaml = z.infer<typeof oidcYamlSchema>

/** The closest known key, when it is close enough to be a typo. */
function closest(key: string, known: string[]): string | undefined {
  let best: {name: string; distance: number} | undefined
  for (const name of known) {
    const distance = editDistance(key, name)
    if (!best || distance < best.distance) best = {name, distance}
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 4)) ? best.name : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = current
  }
  return previous[b.length]
}

function knownKeysAt(path: PropertyKey[]): string[] {
  let schema: z.ZodType = oidcYamlSchema
  for (const segment of path) {
    let inner = schema as unknown as {unwrap?: () => z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType}
    while (inner.unwrap) inner = inner.unwrap() as never
    const next = typeof segment === 'number' ? inner.element : inner.shape?.[String(segment)]
    if (!next) return []
    schema = next
  }
  let inner = schema as unknown as {unwrap?: () => z.ZodType; shape?: Record<string, z.ZodType>}
  while (inner.unwrap) inner = inner.unwrap() as never
  return Object.keys(inner.shape ?? {})
}

/** Validates the parsed YAML; the error message names the key, the file, and what it must be. */
export function parseOidcYaml(raw: unknown, file: string): {ok: true; value: OidcYaml} | {ok: false; message: string} {
  const result = oidcYamlSchema.safeParse(raw ?? {})
  if (result.success) return {ok: true, value: result.data}
  const issue = result.error.issues[0]
  const where = issue.path.map(String).join('.')
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(issue.path)
    const key = issue.keys[0]
    const full = where ? `${where}.${key}` : key
    const hint = closest(key, known)
    return {ok: false, message: `\`${full}\` in ${file} is not a setting${hint ? ` (did you mean \`${where ? `${where}.` : ''}${hint}\`?)` : ''}; use ${known.join(', ')}.`}
  }
  if (!where) return {ok: false, message: `${file}: ${issue.message}.`}
  return {ok: false, message: `\`${where}\` in ${file} ${issue.message}; got ${JSON.stringify(issue.input ?? getAt(raw, issue.path))?.slice(0, 100)}.`}
}

function getAt(value: unknown, path: PropertyKey[]): unknown {
  let current = value
  for (const segment of path) current = current && typeof current === 'object' ? (current as Record<PropertyKey, unknown>)[segment] : undefined
  return current
}
