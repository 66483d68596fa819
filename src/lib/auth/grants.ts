import type {EncryptedStore} from '../storage/encrypted.ts'
import {log} from '../server/logger.ts'
import {KEY, type Grant} from './records.ts'
import {UpstreamError, type UpstreamProvider} from './upstream.ts'

/** Renew the upstream access token this long before it expires. */
const UPSTREAM_EXPIRY_MARGIN_MS = 30_000
const GRANT_CACHE_MS = 1000
const GRANT_CACHE_SIZE = 10_000

/**
 * The stored sign-ins (grants): read with a short cache, renewed upstream when their access token
 * is about to expire, and forgotten on revocation.
 */
export class GrantStore {
  private readonly store: EncryptedStore
  private readonly upstream: UpstreamProvider
  private readonly lifetimeSeconds: number
  /** Upstream refreshes in progress in this process, so concurrent requests share one. */
  private readonly refreshing = new Map<string, Promise<Grant | undefined>>()
  /**
   * Sign-ins read in the last GRANT_CACHE_MS: a burst of MCP requests costs one storage read.
   * A revocation takes effect at once on the replica that handles it, and on the others within
   * GRANT_CACHE_MS.
   */
  private readonly recent = new Map<string, {grant: Grant; until: number}>()

  constructor(store: EncryptedStore, upstream: UpstreamProvider, lifetimeSeconds: number) {
    this.store = store
    this.upstream = upstream
    this.lifetimeSeconds = lifetimeSeconds
  }

  /** `lifetimeSeconds`: shorter than a sign-in's for grants that end with their only token (machine callers). */
  async create(gid: string, grant: Grant, lifetimeSeconds = this.lifetimeSeconds): Promise<void> {
    await this.store.set(KEY.grant(gid), grant, lifetimeSeconds)
  }

  /** Removes the grant (every token bound to it stops working) and revokes it upstream. */
  async end(gid: string): Promise<boolean> {
    this.recent.delete(gid)
    const grant = await this.store.take<Grant>(KEY.grant(gid))
    if (grant && !grant.machine) await this.upstream.revoke(grant.upstream).catch(() => undefined)
    return grant !== undefined
  }

  async load(gid: string): Promise<Grant | undefined> {
    const now = Date.now()
    const recent = this.recent.get(gid)
    if (recent && recent.until > now) return recent.grant
    const grant = await this.store.get<Grant>(KEY.grant(gid))
    this.recent.delete(gid)
    if (grant) {
      if (this.recent.size >= GRANT_CACHE_SIZE) this.recent.delete(this.recent.keys().next().value!)
      this.recent.set(gid, {grant, until: now + GRANT_CACHE_MS})
    }
    return grant
  }

  /**
   * The grant with a valid upstream access token: renewed with the upstream refresh token when it
   * is about to expire. Undefined when the upstream sign-in has ended (the grant is then removed).
   */
  async fresh(gid: string, grant: Grant): Promise<Grant | undefined> {
    const expiresAt = grant.upstream.expiresAt
    if (expiresAt === undefined || expiresAt - UPSTREAM_EXPIRY_MARGIN_MS > Date.now()) return grant
    const running = this.refreshing.get(gid)
    if (running) return running
    const work = (async (): Promise<Grant | undefined> => {
      try {
        const upstream = await this.upstream.refresh(grant.upstream)
        const renewed = {...grant, upstream}
        await this.store.set(KEY.grant(gid), renewed, this.lifetimeSeconds)
        this.recent.delete(gid)
        return renewed
      } catch (error) {
        // Another replica may have refreshed (and rotated the upstream refresh token) first.
        const stored = await this.store.get<Grant>(KEY.grant(gid))
        if (stored?.upstream.expiresAt && stored.upstream.expiresAt - UPSTREAM_EXPIRY_MARGIN_MS > Date.now()) return stored
        if (error instanceof UpstreamError && error.oauthError === 'invalid_grant') {
          log.info('upstream sign-in ended; the user must sign in again', {error: error.message})
          await this.store.del(KEY.grant(gid))
          this.recent.delete(gid)
          return undefined
        }
        throw error
      } finally {
        this.refreshing.delete(gid)
      }
    })()
    this.refreshing.set(gid, work)
    return work
  }
}
