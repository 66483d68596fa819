/**
 * kmcp's two long-lived keys, generated with the operating system's secure RNG:
 * - the JWT signing key: 256 bits as 64 lower-case hex characters (the reference's format);
 * - the storage encryption key: a Fernet-format key, the url-safe base64 (with padding) of 32
 *   random bytes, as the reference's Helm Secrets hold (kmcp derives its AES key from it).
 */
import {randomBytes} from 'node:crypto'

export function generateJwtSigningKey(): string {
  return randomBytes(32).toString('hex')
}

export function generateStorageEncryptionKey(): string {
  return toFernetText(randomBytes(32))
}

/** url-safe base64 with '=' padding, exactly what Python's Fernet.generate_key() produces. */
function toFernetText(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_')
}

/** null when valid, else why not (never echoes the key). */
export function jwtSigningKeyProblem(value: string): string | null {
  if (!/^[0-9a-fA-F]{64}$/.test(value)) {
    return `must be 64 hexadecimal characters (256 bits); got ${value.length} characters${/[^0-9a-fA-F]/.test(value) ? ' including non-hex ones' : ''}. Generate one with: openssl rand -hex 32`
  }
  return null
}

/** null when valid, else why not (never echoes the key). */
export function storageEncryptionKeyProblem(value: string): string | null {
  if (!/^[A-Za-z0-9_-]{43}=$/.test(value)) {
    return `must be a Fernet key: url-safe base64 of 32 bytes, 44 characters ending in "="; got ${value.length} characters. Generate one with: python3 -c "import os,base64;print(base64.urlsafe_b64encode(os.urandom(32)).decode())"`
  }
  if (Buffer.from(value, 'base64url').length !== 32) return 'must decode to exactly 32 bytes'
  return null
}
