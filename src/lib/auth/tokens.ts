import {createSecretKey, randomUUID, type KeyObject} from 'node:crypto'
import {SignJWT, jwtVerify, type JWTHeaderParameters, type JWTPayload} from 'jose'
import type {SigningKey} from './config.ts'

const VERIFIED_CACHE_SIZE = 10_000

/** The claims kmcp puts into its own access tokens. */
export interface AccessTokenClaims {
  sub: string
  client_id: string
  scope: string
  /** The stored upstream grant this token is bound to; revoking the grant kills the token. */
  gid: string
}

export interface VerifiedAccessToken extends AccessTokenClaims {
  jti: string
  exp: number
}

/**
 * kmcp's own access tokens: HS256 JWTs (RFC 9068 `typ: at+jwt`) with the audience set to the MCP
 * endpoint URL. The issuer and the only verifier are this service, so a shared key is enough; the
 * key list allows rotation (first signs, all verify, picked by `kid`).
 */
export class AccessTokenIssuer {
  /** Imported once: jose would otherwise import a raw key on every verification. */
  private readonly keys: Array<{kid: string; key: KeyObject}>
  private readonly issuer: string
  private readonly audience: string
  private readonly verified = new Map<string, VerifiedAccessToken>()

  constructor(options: {keys: SigningKey[]; issuer: string; audience: string}) {
    this.keys = options.keys.map(({kid, key}) => ({kid, key: createSecretKey(key)}))
    this.issuer = options.issuer
    this.audience = options.audience
  }

  async mint(claims: AccessTokenClaims, lifetimeSeconds: number): Promise<{token: string; expiresAt: number}> {
    const {kid, key} = this.keys[0]
    const now = Math.floor(Date.now() / 1000)
    const token = await new SignJWT({...claims})
      .setProtectedHeader({alg: 'HS256', typ: 'at+jwt', kid})
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + lifetimeSeconds)
      .setJti(randomUUID())
      .sign(key)
    return {token, expiresAt: now + lifetimeSeconds}
  }

  /**
   * Rejects anything but an unexpired HS256 at+jwt from this issuer for this audience. A token
   * that verified once is remembered (bounded, until it expires): jose verifies through WebCrypto,
   * which costs about 0.1 ms per call, and an MCP session sends the same token with every request.
   */
  async verify(token: string): Promise<VerifiedAccessToken> {
    const known = this.verified.get(token)
    if (known) {
      if (known.exp * 1000 > Date.now()) return known
      this.verified.delete(token)
    }
    const claims = await this.verifySignature(token)
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!)
    this.verified.set(token, claims)
    return claims
  }

  private async verifySignature(token: string): Promise<VerifiedAccessToken> {
    const {payload} = await jwtVerify(token, (header: JWTHeaderParameters) => this.keyFor(header), {
      algorithms: ['HS256'],
      issuer: this.issuer,
      audience: this.audience,
      typ: 'at+jwt',
      requiredClaims: ['exp', 'iat', 'jti', 'sub'],
    })
    return checkShape(payload)
  }

  private keyFor(header: JWTHeaderParameters): KeyObject {
    const entry = this.keys.find((k) => k.kid === header.kid)
    if (!entry) throw new Error('unknown key id')
    return entry.key
  }
}

function checkShape(payload: JWTPayload): VerifiedAccessToken {
  const {sub, client_id, scope, gid, jti, exp} = payload as Record<string, unknown>
  if (typeof sub !== 'string' || typeof client_id !== 'string' || typeof scope !== 'string' || typeof gid !== 'string' || typeof jti !== 'string' || typeof exp !== 'number') {
    throw new Error('token claims are incomplete')
  }
  return {sub, client_id, scope, gid, jti, exp}
}
