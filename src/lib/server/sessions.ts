/**
 * Bookkeeping of MCP sessions: who owns each, when it was last used, and how many there may be.
 * Sessions hold an McpServer with every tool mounted (and, once subscribed, Kubernetes watches),
 * so their number is what bounds the memory of an HTTP server. This module knows nothing of HTTP
 * or MCP: a store shared by replicas can implement SessionStore with the same promises.
 */

export interface SessionLimits {
  /** A session without requests (and without an open stream) for this long is closed. */
  idleTimeoutMs: number
  /** Sessions one user (stable subject; everyone is one user when authentication is off) may hold. */
  maxPerUser: number
  /** Sessions the whole process may hold. */
  maxTotal: number
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {idleTimeoutMs: 30 * 60_000, maxPerUser: 50, maxTotal: 1000}

/** Why a new session cannot be opened now: 429 (this user's cap) or 503 (the server's cap). */
export interface SessionRefusal {
  status: 429 | 503
  retryAfterSeconds: number
  message: string
}

/** What the store keeps about a session, besides the caller's own value. */
export interface SessionEntry<T> {
  id: string
  owner: string
  value: T
  lastUsed: number
  /** Requests (or streams) in progress: a session with one open is never idle. */
  active: number
}

/** A place held for a session being opened: commit it once it has an id, release it otherwise. */
export interface SessionReservation<T> {
  commit(id: string, value: T): void
  release(): void
}

export interface SessionStore<T> {
  /**
   * Holds a place for one more session of `owner`, or says why not. Held places count against the
   * caps at once, so a burst of concurrent initialize requests cannot overshoot them.
   */
  reserve(owner: string): {ok: true; reservation: SessionReservation<T>} | {ok: false; refusal: SessionRefusal}
  /** The session, marked as used now; undefined when unknown or expired. */
  get(id: string): SessionEntry<T> | undefined
  /** Marks a request as started on the session; call the returned function when it ends. */
  begin(id: string): () => void
  remove(id: string): SessionEntry<T> | undefined
  size(): number
  /** Every session, left in the store. */
  list(): SessionEntry<T>[]
  /** Every session, removed from the store (for shutdown). */
  drain(): SessionEntry<T>[]
}

/**
 * The in-process store: a Map, and a timer that closes idle sessions through `onExpire`.
 */
export class MemorySessionStore<T> implements SessionStore<T> {
  private readonly sessions = new Map<string, SessionEntry<T>>()
  private readonly perOwner = new Map<string, number>()
  private readonly limits: SessionLimits
  private readonly onExpire: (entry: SessionEntry<T>) => void
  private readonly timer: NodeJS.Timeout
  private pending = 0

  constructor(limits: SessionLimits, onExpire: (entry: SessionEntry<T>) => void) {
    this.limits = limits
    this.onExpire = onExpire
    const sweepEvery = Math.max(250, Math.min(30_000, Math.floor(limits.idleTimeoutMs / 4)))
    this.timer = setInterval(() => this.sweep(), sweepEvery)
    this.timer.unref()
  }

  reserve(owner: string): {ok: true; reservation: SessionReservation<T>} | {ok: false; refusal: SessionRefusal} {
    const refusal = this.refusal(owner)
    if (refusal) return {ok: false, refusal}
    this.pending++
    this.count(owner, +1)
    let settled = false
    const settle = () => {
      if (settled) return false
      settled = true
      this.pending--
      this.count(owner, -1)
      return true
    }
    return {
      ok: true,
      reservation: {
        commit: (id, value) => {
          if (!settle()) return
          this.sessions.set(id, {id, owner, value, lastUsed: Date.now(), active: 0})
          this.count(owner, +1)
        },
        release: () => void settle(),
      },
    }
  }

  private count(owner: string, delta: number): void {
    const next = (this.perOwner.get(owner) ?? 0) + delta
    if (next > 0) this.perOwner.set(owner, next)
    else this.perOwner.delete(owner)
  }

  private refusal(owner: string): SessionRefusal | undefined {
    if ((this.perOwner.get(owner) ?? 0) >= this.limits.maxPerUser) {
      return {status: 429, retryAfterSeconds: this.secondsUntilOneExpires(owner), message: `Too many open sessions for this user (at most ${this.limits.maxPerUser}). Close unused sessions (HTTP DELETE with Mcp-Session-Id) or wait until an idle one expires.`}
    }
    if (this.sessions.size + this.pending >= this.limits.maxTotal) {
      return {status: 503, retryAfterSeconds: this.secondsUntilOneExpires(), message: `The server holds its maximum of ${this.limits.maxTotal} sessions. Try again later.`}
    }
    return undefined
  }

  get(id: string): SessionEntry<T> | undefined {
    const entry = this.sessions.get(id)
    if (entry) entry.lastUsed = Date.now()
    return entry
  }

  begin(id: string): () => void {
    const entry = this.sessions.get(id)
    if (!entry) return () => undefined
    entry.active++
    let ended = false
    return () => {
      if (ended) return
      ended = true
      entry.active--
      entry.lastUsed = Date.now()
    }
  }

  remove(id: string): SessionEntry<T> | undefined {
    const entry = this.sessions.get(id)
    if (!entry) return undefined
    this.sessions.delete(id)
    this.count(entry.owner, -1)
    return entry
  }

  size(): number {
    return this.sessions.size
  }

  list(): SessionEntry<T>[] {
    return [...this.sessions.values()]
  }

  drain(): SessionEntry<T>[] {
    clearInterval(this.timer)
    const all = [...this.sessions.values()]
    this.sessions.clear()
    this.perOwner.clear()
    return all
  }

  private sweep(): void {
    const deadline = Date.now() - this.limits.idleTimeoutMs
    for (const entry of [...this.sessions.values()]) {
      if (entry.active > 0 || entry.lastUsed > deadline) continue
      this.remove(entry.id)
      this.onExpire(entry)
    }
  }

  /** When the next idle session (of `owner`, or any) expires: a fair Retry-After. */
  private secondsUntilOneExpires(owner?: string): number {
    let soonest = Infinity
    for (const entry of this.sessions.values()) {
      if ((owner !== undefined && entry.owner !== owner) || entry.active > 0) continue
      soonest = Math.min(soonest, entry.lastUsed + this.limits.idleTimeoutMs)
    }
    if (soonest === Infinity) return Math.max(1, Math.ceil(this.limits.idleTimeoutMs / 1000))
    return Math.max(1, Math.ceil((soonest - Date.now()) / 1000))
  }
}
