import type {KeyValueStore} from './kv.ts'

const MAX_ENTRIES_BEFORE_SWEEP = 10_000

/**
 * A process-local store for `kmcp serve --transport http` on loopback during development. Its
 * data dies with the process and is not shared between replicas, so serve.ts refuses it for any
 * reachable address.
 */
export class MemoryStore implements KeyValueStore {
  private readonly entries = new Map<string, {value: string; expiresAt: number}>()

  async get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key)
      return undefined
    }
    return entry.value
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    this.entries.set(key, {value, expiresAt: ttlSeconds ? Date.now() + ttlSeconds * 1000 : Number.POSITIVE_INFINITY})
  }

  async getdel(key: string): Promise<string | undefined> {
    const value = await this.get(key)
    this.entries.delete(key)
    return value
  }

  async del(key: string): Promise<void> {
    this.entries.delete(key)
  }

  async increment(key: string, ttlSeconds: number): Promise<number> {
    const current = await this.get(key)
    const count = (current === undefined ? 0 : Number(current)) + 1
    const expiresAt = current === undefined ? Date.now() + ttlSeconds * 1000 : this.entries.get(key)!.expiresAt
    this.entries.set(key, {value: String(count), expiresAt})
    if (this.entries.size > MAX_ENTRIES_BEFORE_SWEEP) this.sweep()
    return count
  }

  /** Counters are written once per window and never read again; expired ones are dropped here. */
  private sweep(): void {
    const now = Date.now()
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key)
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.entries.clear()
  }
}
