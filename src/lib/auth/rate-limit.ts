import {createHash} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import {BlockList, isIP} from 'node:net'
import {log} from '../server/logger.ts'
import type {EncryptedStore} from '../storage/encrypted.ts'
import type {RateLimits} from './config.ts'

/** The limits of rate_limits, by the name used in keys, logs and documentation. */
export type RateLimitName = 'register_per_ip' | 'token_per_ip' | 'token_per_client' | 'authorize_per_ip' | 'revoke_per_ip' | 'callback_per_ip' | 'mcp_unauthenticated_per_ip'

const LIMIT_FIELD: Record<RateLimitName, Exclude<keyof RateLimits, 'windowSeconds'>> = {
  register_per_ip: 'registerPerIp',
  token_per_ip: 'tokenPerIp',
  token_per_client: 'tokenPerClient',
  authorize_per_ip: 'authorizePerIp',
  revoke_per_ip: 'revokePerIp',
  callback_per_ip: 'callbackPerIp',
  mcp_unauthenticated_per_ip: 'mcpUnauthenticatedPerIp',
}

/** The eight 16-bit groups of an IPv6 address, as numbers; undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  const plain = address.replace(/%.*$/, '')
  if (isIP(plain) !== 6) return undefined
  const [head, tail] = plain.includes('::') ? plain.split('::') : [plain, undefined]
  const toGroups = (part: string | undefined): number[] => {
    if (!part) return []
    return part.split(':').flatMap((group) => {
      if (!group.includes('.')) return [parseInt(group, 16)]
      const [a, b, c, d] = group.split('.').map(Number)
      return [(a << 8) | b, (c << 8) | d]
    })
  }
  const front = toGroups(head)
  const back = toGroups(tail)
  return tail === undefined ? front : [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back]
}

/**
 * The rate-limit bucket of a client address: an IPv4 address as it is, an IPv6 address by its
 * /64 (one customer network holds a whole /64, so counting single addresses counts nothing).
 */
export function addressBucket(address: string): string {
  const groups = ipv6Groups(address)
  if (!groups) return address
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`
}

/** A refused request: how long until the window ends. */
export interface RateLimited {
  limit: RateLimitName
  retryAfterSeconds: number
}

/** ::ffff:192.0.2.1 (an IPv4 peer on a dual-stack socket) is 192.0.2.1. */
function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return mapped ? mapped[1] : address
}

/**
 * Fixed-window request counters in the shared store, so every replica counts against the same
 * budget: one counter per limit, subject (client address or client_id) and window, created with
 * the window's lifetime. Subjects are hashed in the key, so Redis holds no addresses.
 */
export class RateLimiter {
  private readonly store: EncryptedStore
  private readonly limits: RateLimits
  private readonly trustedProxies = new BlockList()
  private readonly anyTrustedProxy: boolean

  constructor(store: EncryptedStore, limits: RateLimits, trustedProxies: string[]) {
    this.store = store
    this.limits = limits
    for (const entry of trustedProxies) {
      const [address, prefix] = entry.split('/')
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
      if (prefix === undefined) this.trustedProxies.addAddress(address, family)
      else this.trustedProxies.addSubnet(address, Number(prefix), family)
    }
    this.anyTrustedProxy = trustedProxies.length > 0
  }

  private isTrustedProxy(address: string): boolean {
    const family = isIP(address)
    return family !== 0 && this.trustedProxies.check(address, family === 6 ? 'ipv6' : 'ipv4')
  }

  /**
   * The client's address: the socket's peer, unless that peer is a trusted proxy; then
   * X-Forwarded-For is read from the right (the entries trusted proxies appended) up to the first
   * address that is not a trusted proxy. Entries left of it are whatever the client wrote.
   */
  clientAddress(req: IncomingMessage): string {
    let address = normalizeAddress(req.socket.remoteAddress ?? 'unknown')
    if (!this.anyTrustedProxy || !this.isTrustedProxy(address)) return address
    const header = req.headers['x-forwarded-for']
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((hop) => normalizeAddress(hop.trim()))
    for (const hop of hops.reverse()) {
      if (isIP(hop) === 0) break
      address = hop
      if (!this.isTrustedProxy(hop)) break
    }
    return address
  }

  /** Counts one request against a per-address limit, IPv6 by /64. */
  hitAddress(limit: RateLimitName, address: string, context: Record<string, unknown>): Promise<RateLimited | undefined> {
    return this.hit(limit, addressBucket(address), context)
  }

  /** Counts one request against `limit` for `subject`; returns undefined while within the limit. */
  async hit(limit: RateLimitName, subject: string, context: Record<string, unknown>): Promise<RateLimited | undefined> {
    const allowed = this.limits[LIMIT_FIELD[limit]]
    if (allowed === 0) return undefined
    const windowMs = this.limits.windowSeconds * 1000
    const now = Date.now()
    const window = Math.floor(now / windowMs)
    const key = `mcp:ratelimit:${limit}:${createHash('sha256').update(subject).digest('base64url')}:${window}`
    const count = await this.store.increment(key, this.limits.windowSeconds)
    if (count <= allowed) return undefined
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000))
    // Once per subject and window, whichever replica sees it: a flood is one log line, not thousands.
    if (count === allowed + 1) log.warn('rate limit reached; refusing requests until the window ends', {limit, allowed, window_seconds: this.limits.windowSeconds, retry_after_seconds: retryAfterSeconds, ...context})
    return {limit, retryAfterSeconds}
  }
}
