import {createHash} from 'node:crypto'

/**
 * The user id kmcp derives from a verified identity: `{sanitized-username}-{6-char issuer hash}`.
 * Same algorithm as the Python reference's user_hash.py, then lower-cased so that the result is a
 * valid RFC 1123 label (the reference's base-62 hash contains upper case letters). The id is
 * stable for one person at one identity provider and distinct across providers.
 */
export function userIdFor(claims: Record<string, unknown>, issuer: string): string {
  return `${sanitizeUsername(usernameClaim(claims))}-${shortHash(issuer).toLowerCase()}`
}

/** The first non-empty of preferred_username, username, name, email, sub (the reference's order). */
export function usernameClaim(claims: Record<string, unknown>): string {
  for (const key of ['preferred_username', 'username', 'name', 'email', 'sub']) {
    const value = claims[key]
    if (typeof value === 'string' && value.trim() !== '') return value
  }
  return ''
}

const MAX_USERNAME_LENGTH = 50

export function sanitizeUsername(raw: string): string {
  let name = raw.toLowerCase()
  const at = name.indexOf('@')
  if (at >= 0) name = name.slice(0, at)
  name = name.replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '')
  if (name === '') return 'user'
  // Truncating after stripping matches the reference (a trailing "-" may come back).
  return name.slice(0, MAX_USERNAME_LENGTH)
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/**
 * SHA-256 of the text, as a big-endian integer modulo 62^length, written in base 62 with the
 * least significant digit first (the reference's digit order).
 */
export function shortHash(text: string, length = 6): string {
  let value = BigInt('0x' + createHash('sha256').update(text, 'utf8').digest('hex'))
  value %= 62n ** BigInt(length)
  let out = ''
  for (let i = 0; i < length; i++) {
    out += BASE62[Number(value % 62n)]
    value /= 62n
  }
  return out
}
