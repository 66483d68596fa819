/**
 * The few key-value operations the OAuth facade needs. Values are opaque strings (already
 * encrypted by EncryptedStore); TTLs are in seconds.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | undefined>
  set(key: string, value: string, ttlSeconds?: number): Promise<void>
  /** Returns the value and deletes it in one atomic step (single-use items). */
  getdel(key: string): Promise<string | undefined>
  del(key: string): Promise<void>
  /**
   * Adds one to the counter at `key` and returns the new count; a new counter expires after
   * ttlSeconds. One atomic step, so replicas sharing the store count together (rate limits).
   */
  increment(key: string, ttlSeconds: number): Promise<number>
  /** Rejects when the store cannot be used right now (readiness). */
  ping(): Promise<void>
  close(): Promise<void>
}
