import {createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes} from 'node:crypto'
import type {KeyValueStore} from './kv.ts'

export interface StorageKey {
  /** Short public id of the key, stored beside each value so decryption picks the right key. */
  kid: string
  key: Buffer
}

/**
 * Derives AES-256 keys from Fernet-format keys (32 random bytes, URL-safe base64), the format the
 * reference's Helm secret `storage-encryption-key` holds. Several keys make a key ring: the first
 * encrypts, all decrypt, so a key can be rotated without logging everyone out.
 */
export function storageKeyRing(fernetKeys: string[]): StorageKey[] {
  return fernetKeys.map((text) => {
    const raw = Buffer.from(text.trim(), 'base64url')
    if (raw.length !== 32) throw new Error('is not a Fernet key (32 random bytes in URL-safe base64, 44 characters)')
    const key = Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), 'mcp-storage-v1', 32))
    return {kid: createHash('sha256').update(key).digest('hex').slice(0, 8), key}
  })
}

/**
 * JSON values encrypted with AES-256-GCM. The Redis key is the associated data, so a value copied
 * to another key does not decrypt. A value that does not decrypt (unknown key, tampering, old
 * format) is treated as missing: the client simply authorizes again.
 * Envelope: `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url parts).
 */
export class EncryptedStore {
  private readonly store: KeyValueStore
  private readonly keys: StorageKey[]

  constructor(store: KeyValueStore, keys: StorageKey[]) {
    if (keys.length === 0) throw new Error('EncryptedStore needs at least one key')
    this.store = store
    this.keys = keys
  }

  private seal(redisKey: string, value: unknown): string {
    const {kid, key} = this.keys[0]
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    cipher.setAAD(Buffer.from(redisKey, 'utf8'))
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
    return ['v1', kid, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.')
  }

  private open<T>(redisKey: string, envelope: string | undefined): T | undefined {
    if (!envelope) return undefined
    const [version, kid, iv, ciphertext, tag] = envelope.split('.')
    const entry = this.keys.find((k) => k.kid === kid)
    if (version !== 'v1' || !entry || !iv || !ciphertext || !tag) return undefined
    try {
      const decipher = createDecipheriv('aes-256-gcm', entry.key, Buffer.from(iv, 'base64url'))
      decipher.setAAD(Buffer.from(redisKey, 'utf8'))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()])
      return JSON.parse(plain.toString('utf8')) as T
    } catch {
      return undefined
    }
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.open<T>(key, await this.store.get(key))
  }

  async set(key: string, value: unknown, ttlSeconds?: number): Promise<void> {
    await this.store.set(key, this.seal(key, value), ttlSeconds)
  }

  /** Reads and deletes atomically: the second caller gets undefined. */
  async take<T>(key: string): Promise<T | undefined> {
    return this.open<T>(key, await this.store.getdel(key))
  }

  async del(key: string): Promise<void> {
    await this.store.del(key)
  }

  /** A plain counter (rate limits): a count is not secret, so it is stored unencrypted. */
  increment(key: string, ttlSeconds: number): Promise<number> {
    return this.store.increment(key, ttlSeconds)
  }

  ping(): Promise<void> {
    return this.store.ping()
  }

  close(): Promise<void> {
    return this.store.close()
  }
}
