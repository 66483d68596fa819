import {createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey} from 'jose'
import {log} from '../server/logger.ts'

/**
 * The keys of a trusted workload issuer, fetched (a JWKS URL, a discovery document, the
 * Kubernetes API) and kept: fresh for 10 minutes, then fetched again; when that fetch fails
 * (the issuer is down, slow, or answers nonsense), the keys in hand keep verifying tokens for up
 * to an hour, so a short outage of GitHub's or the cluster's key endpoint does not stop CI. A
 * token naming a key kmcp does not have triggers a fetch at most every 30 s.
 */

/** The issuer's keys cannot be had right now: the exchange answers 503 with Retry-After, not a refusal. */
export class KeysUnavailableError extends Error {
  readonly issuer: string
  constructor(issuer: string, message: string) {
    super(message)
    this.name = 'KeysUnavailableError'
    this.issuer = issuer
  }
}

/** How long a client should wait before it tries again (Retry-After). */
export const KEYS_RETRY_AFTER_SECONDS = 30
const FRESH_MS = 10 * 60_000
const STALE_LIMIT_MS = 60 * 60_000
const REFETCH_COOLDOWN_MS = KEYS_RETRY_AFTER_SECONDS * 1000
export const KEYS_FETCH_TIMEOUT_MS = 5000

export class CachedKeySet {
  private current?: {keys: JWTVerifyGetKey; at: number}
  private lastAttempt = 0
  /** Why the last fetch failed; cleared by the next that succeeds. */
  private lastFailure?: string
  private loading?: Promise<void>
  private readonly issuer: string
  private readonly load: () => Promise<JSONWebKeySet>

  constructor(issuer: string, load: () => Promise<JSONWebKeySet>) {
    this.issuer = issuer
    this.load = load
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const now = Date.now()
    if (!this.current) await this.refresh(true)
    else if (now - this.current.at > FRESH_MS && now - this.lastAttempt > REFETCH_COOLDOWN_MS) await this.refresh(false)
    try {
      return await this.current!.keys(header, token)
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error
      // A key kmcp may simply not have yet: while the issuer cannot be reached, that is no refusal.
      if (this.lastFailure) throw new KeysUnavailableError(this.issuer, this.lastFailure)
      if (Date.now() - this.lastAttempt < REFETCH_COOLDOWN_MS) throw error
      await this.refresh(true)
      return this.current!.keys(header, token)
    }
  }

  /** Fetches the keys (one fetch for concurrent callers). `required`: no usable keys without it. */
  private async refresh(required: boolean): Promise<void> {
    this.loading ??= (async () => {
      this.lastAttempt = Date.now()
      try {
        const set = await this.load()
        if (!set || !Array.isArray(set.keys)) throw new Error('the answer is not a JSON Web Key Set (no "keys" list)')
        this.current = {keys: createLocalJWKSet(set), at: Date.now()}
        this.lastFailure = undefined
      } finally {
        this.loading = undefined
      }
    })()
    try {
      await this.loading
    } catch (error) {
      const reason = error instanceof KeysUnavailableError ? error.message : `kmcp cannot fetch the keys of ${this.issuer}: ${(error as Error).message}`
      this.lastFailure = reason
      if (!required && this.current && Date.now() - this.current.at < STALE_LIMIT_MS) {
        log.warn('workload issuer keys could not be refreshed; the cached keys are used meanwhile', {issuer: this.issuer, reason, cached_for_seconds: Math.round((Date.now() - this.current.at) / 1000)})
        return
      }
      throw new KeysUnavailableError(this.issuer, reason)
    }
  }
}

async function fetchJson(url: string, issuer: string, what: string): Promise<unknown> {
  let response: Response
  try {
    response = await fetch(url, {headers: {accept: 'application/json, application/jwk-set+json'}, signal: AbortSignal.timeout(KEYS_FETCH_TIMEOUT_MS), redirect: 'follow'})
  } catch (error) {
    const cause = (error as Error).name === 'TimeoutError' ? `no answer within ${KEYS_FETCH_TIMEOUT_MS / 1000} s` : ((error as {cause?: Error}).cause?.message ?? (error as Error).message)
    throw new KeysUnavailableError(issuer, `kmcp cannot reach ${url} (${what} of ${issuer}): ${cause}`)
  }
  if (!response.ok) throw new KeysUnavailableError(issuer, `${url} (${what} of ${issuer}) answered HTTP ${response.status}`)
  try {
    return await response.json()
  } catch {
    throw new KeysUnavailableError(issuer, `${url} (${what} of ${issuer}) did not answer JSON`)
  }
}

/** Keys from a JWKS URL. */
export function jwksFromUrl(url: string, issuer: string): () => Promise<JSONWebKeySet> {
  return async () => (await fetchJson(url, issuer, 'the key set')) as JSONWebKeySet
}

/** Keys from the issuer's OpenID discovery document (its jwks_uri). */
export function jwksFromDiscovery(url: string, issuer: string): () => Promise<JSONWebKeySet> {
  return async () => {
    const doc = (await fetchJson(url, issuer, 'the discovery document')) as {issuer?: string; jwks_uri?: string}
    if (typeof doc?.jwks_uri !== 'string') throw new KeysUnavailableError(issuer, `${url} is not an OpenID discovery document (no jwks_uri)`)
    if (doc.issuer !== issuer) throw new KeysUnavailableError(issuer, `${url} describes the issuer ${doc.issuer}, not ${issuer}`)
    return (await fetchJson(doc.jwks_uri, issuer, 'the key set')) as JSONWebKeySet
  }
}
