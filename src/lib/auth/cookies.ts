import {createHmac, hkdfSync, timingSafeEqual} from 'node:crypto'
import type {IncomingMessage} from 'node:http'

/**
 * Signed browser cookies that tie a consent transaction to the browser that approved it. Over
 * https they use the `__Host-` prefix (Secure, no Domain, Path=/); plain-http names exist only
 * for loopback development.
 */
export class CookieSigner {
  private readonly key: Buffer
  private readonly secure: boolean

  constructor(signingKey: Uint8Array, secure: boolean) {
    this.key = Buffer.from(hkdfSync('sha256', signingKey, 'kmcp-cookie', 'kmcp consent cookies', 32))
    this.secure = secure
  }

  name(base: string): string {
    return this.secure ? `__Host-${base}` : base
  }

  private mac(name: string, value: string): string {
    return createHmac('sha256', this.key).update(`${name}=${value}`).digest('base64url')
  }

  /** A Set-Cookie header value. */
  serialize(base: string, value: string, maxAgeSeconds: number): string {
    const name = this.name(base)
    const attributes = [`${name}=${value}.${this.mac(name, value)}`, 'Path=/', `Max-Age=${maxAgeSeconds}`, 'HttpOnly', 'SameSite=Lax']
    if (this.secure) attributes.push('Secure')
    return attributes.join('; ')
  }

  clear(base: string): string {
    return `${this.name(base)}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${this.secure ? '; Secure' : ''}`
  }

  /** The cookie's value when present and signed by us; undefined otherwise. */
  read(req: IncomingMessage, base: string): string | undefined {
    const name = this.name(base)
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [key, ...rest] = part.trim().split('=')
      if (key !== name) continue
      const raw = rest.join('=')
      const dot = raw.lastIndexOf('.')
      if (dot < 0) return undefined
      const value = raw.slice(0, dot)
      const given = Buffer.from(raw.slice(dot + 1))
      const expected = Buffer.from(this.mac(name, value))
      return given.length === expected.length && timingSafeEqual(given, expected) ? value : undefined
    }
    return undefined
  }
}
