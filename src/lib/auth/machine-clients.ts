import {createHash, createPublicKey, timingSafeEqual, type KeyObject} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey} from 'jose'
import type {CallerIdentity} from '../tools/registry.ts'
import type {MachineClientYaml} from './config-schema-machine.ts'
import {userIdFor} from './user-hash.ts'

/** Whitespace or control characters: such a name could pass for another. */
const UNSAFE = /[\s\p{Cc}\p{Cf}]/u

/** Who a machine caller (a machine client or a trusted workload) acts as. */
export interface MachineActor {
  /** The Kubernetes user (Impersonate-User with --impersonate) and the name admin_users matches. */
  username: string
  groups: string[]
  /** The scopes its tokens may carry (default: mcp_scopes). */
  scopes: string[]
  tokenLifetimeSeconds?: number
}

/** One entry of `machine_clients`, resolved: the secret as a digest, the keys imported. */
export interface MachineClient extends MachineActor {
  clientId: string
  /** SHA-256 of the client secret (client_secret_basic / client_secret_post). */
  secretDigest?: Buffer
  /** The client's public keys (private_key_jwt, RFC 7523). */
  keys?: KeyObject | JWTVerifyGetKey
}

/** What a grant issued to a machine caller remembers: enough to name it in audit lines. */
export interface MachineGrant {
  kind: 'machine_client' | 'workload'
  /** The machine client's id, or the workload's issuer and subject. */
  name: string
  username: string
  groups: string[]
}

export class MachineConfigError extends Error {}

/** A list setting (YAML list or one string separated by spaces or commas). */
export function listOf(value: string | number | Array<string | number> | null | undefined): string[] {
  if (value === undefined || value === null || value === '') return []
  if (Array.isArray(value)) return value.map(String).filter(Boolean)
  return String(value).split(/[\s,]+/).filter(Boolean)
}

/** username/groups/scopes of a machine_clients or trusted_workload_issuers entry, checked. */
export function actorFrom(entry: {username?: string | number | null; groups?: unknown; scopes?: unknown; token_lifetime_seconds?: number}, where: string, defaults: {username?: string; scopes: string[]}): MachineActor {
  const username = entry.username === undefined || entry.username === null || entry.username === '' ? defaults.username : String(entry.username)
  if (!username) throw new MachineConfigError(`${where} needs \`username\`: the Kubernetes user the caller acts as.`)
  if (UNSAFE.test(username) || username.length > 256) throw new MachineConfigError(`\`username\` of ${where} must not contain whitespace or control characters.`)
  const groups = listOf(entry.groups as never)
  for (const group of groups) {
    if (group.startsWith('system:') || UNSAFE.test(group)) throw new MachineConfigError(`group ${JSON.stringify(group)} of ${where} is not allowed: Kubernetes reserves system: groups, and names may not contain whitespace.`)
  }
  const scopes = listOf(entry.scopes as never)
  return {username, groups, scopes: scopes.length > 0 ? scopes : defaults.scopes, tokenLifetimeSeconds: entry.token_lifetime_seconds}
}

function readFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new MachineConfigError(`cannot read ${file} (${what}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`)
  }
}

export function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest()
}

/** Reads `machine_clients` (already type-checked by the schema): secrets, keys, identities. */
export function loadMachineClients(entries: MachineClientYaml[] | null | undefined, path: string, env: NodeJS.ProcessEnv, mcpScopes: string[]): MachineClient[] {
  const clients: MachineClient[] = []
  const seen = new Set<string>()
  for (const [index, entry] of (entries ?? []).entries()) {
    const clientId = String(entry.client_id).trim()
    const where = `machine_clients[${index}] (${clientId}) in ${path}`
    if (!/^[A-Za-z0-9._:-]{1,100}$/.test(clientId)) throw new MachineConfigError(`\`client_id\` of machine_clients[${index}] in ${path} must be 1 to 100 letters, digits, . _ : or -.`)
    if (seen.has(clientId)) throw new MachineConfigError(`machine client ${clientId} is declared twice in ${path}.`)
    seen.add(clientId)
    let secret: string | undefined
    if (entry.client_secret_file) secret = readFile(String(entry.client_secret_file), `client_secret_file of ${where}`).trim()
    else if (entry.client_secret_env) {
      secret = env[String(entry.client_secret_env)]?.trim()
      if (!secret) throw new MachineConfigError(`the environment variable ${entry.client_secret_env} (client_secret_env of ${where}) is not set.`)
    }
    if (secret !== undefined && secret.length < 16) throw new MachineConfigError(`the client secret of ${where} is too short: use at least 16 characters (e.g. openssl rand -hex 32).`)
    let keys: MachineClient['keys']
    if (entry.public_key_file) {
      try {
        keys = createPublicKey(readFile(String(entry.public_key_file), `public_key_file of ${where}`))
      } catch (error) {
        if (error instanceof MachineConfigError) throw error
        throw new MachineConfigError(`public_key_file of ${where} is not a PEM public key: ${(error as Error).message}.`)
      }
    } else if (entry.jwks_file) {
      try {
        keys = createLocalJWKSet(JSON.parse(readFile(String(entry.jwks_file), `jwks_file of ${where}`)) as JSONWebKeySet)
      } catch (error) {
        if (error instanceof MachineConfigError) throw error
        throw new MachineConfigError(`jwks_file of ${where} is not a JSON Web Key Set: ${(error as Error).message}.`)
      }
    }
    if (!secret && !keys) throw new MachineConfigError(`${where} has no credential: set client_secret_file, client_secret_env, public_key_file or jwks_file.`)
    const actor = actorFrom(entry, where, {username: `machine:${clientId}`, scopes: mcpScopes})
    clients.push({clientId, secretDigest: secret === undefined ? undefined : digest(secret), keys, ...actor})
  }
  return clients
}

/** Constant-time comparison of a presented secret with the configured one. */
export function secretMatches(client: MachineClient, presented: string): boolean {
  return client.secretDigest !== undefined && timingSafeEqual(client.secretDigest, digest(presented))
}

/** The caller identity behind a machine grant: configured by the operator, not claimed by the caller. */
export function machineIdentity(machine: MachineGrant, adminUsers: string[], adminGroups: string[], impersonate: boolean): CallerIdentity {
  return {
    userId: userIdFor({preferred_username: machine.username}, `kmcp:${machine.kind}`),
    username: machine.username,
    subject: machine.username,
    groups: machine.groups,
    isAdmin: adminUsers.includes(machine.username) || machine.groups.some((g) => adminGroups.includes(g)),
    transport: 'http',
    machine: {kind: machine.kind, name: machine.name},
    ...(impersonate ? {kubernetes: {user: machine.username, groups: machine.groups}} : {}),
  }
}
