import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'
import type {MachineGrant} from './machine-clients.ts'
import type {UpstreamTokens} from './upstream.ts'

/** Redis key prefixes. Secrets are never part of a key: codes and refresh tokens are hashed. */
export const KEY = {
  client: (id: string) => `mcp:oauth:client:${id}`,
  txn: (id: string) => `mcp:oauth:txn:${id}`,
  code: (code: string) => `mcp:oauth:code:${sha256(code)}`,
  grant: (id: string) => `mcp:oauth:grant:${id}`,
  refresh: (token: string) => `mcp:oauth:refresh:${sha256(token)}`,
  /** Tombstones: a redeemed code or a rotated-out refresh token, and the grant it led to. */
  usedCode: (code: string) => `mcp:oauth:used-code:${sha256(code)}`,
  usedRefresh: (token: string) => `mcp:oauth:used-refresh:${sha256(token)}`,
}
/** Lifetimes in seconds. */
export const CLIENT_TTL = 90 * 24 * 3600
export const TXN_TTL = 15 * 60
export const CODE_TTL = 5 * 60
/** A redeemed code's tombstone outlives the code by far: a replay an hour later is still caught. */
export const USED_CODE_TTL = 24 * 3600

export interface RegisteredClient {
  client_id: string
  client_id_issued_at: number
  client_name?: string
  redirect_uris: string[]
  grant_types: string[]
  response_types: string[]
  token_endpoint_auth_method: 'none'
  application_type: 'native' | 'web'
  scope?: string
}

/** An /authorize request waiting for consent and the upstream sign-in. */
export interface Transaction {
  clientId: string
  redirectUri: string
  redirectUriGiven?: boolean
  state?: string
  codeChallenge: string
  scope: string
  upstreamVerifier: string
  nonce: string
  csrf?: string
  consented?: boolean
}

export interface CodeRecord {
  clientId: string
  redirectUri: string
  /** The client named redirect_uri at /authorize: /token must name it again. */
  redirectUriGiven?: boolean
  codeChallenge: string
  scope: string
  upstream: UpstreamTokens
}

/** One sign-in: the upstream tokens plus who it is. Every kmcp token points at one grant. */
export interface Grant {
  clientId: string
  scope: string
  upstream: UpstreamTokens
  /** Set for machine clients and trusted workloads: who it acts as (the upstream part is empty). */
  machine?: MachineGrant
}

export interface RefreshRecord {
  clientId: string
  gid: string
  scope: string
}

/** What a tombstone remembers: enough to end the grant when the secret comes back. */
export interface Tombstone {
  clientId: string
  gid: string
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
