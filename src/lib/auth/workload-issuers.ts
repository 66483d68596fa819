import {readFileSync} from 'node:fs'
import {createLocalJWKSet, decodeJwt, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey} from 'jose'
import type {WorkloadIssuerYaml} from './config-schema-machine.ts'
import {MachineConfigError, actorFrom, listOf, type MachineActor} from './machine-clients.ts'
import {CachedKeySet, KeysUnavailableError, jwksFromDiscovery, jwksFromUrl} from './workload-keys.ts'

/**
 * Trusted workload issuers: CI platforms and clusters whose OIDC ID tokens (GitHub Actions,
 * GitLab CI, Kubernetes service-account tokens) kmcp exchanges for its own short-lived tokens
 * (RFC 8693). Each entry names the issuer, the audience its tokens must carry, where its keys
 * are, the claim rules a token must satisfy and who the caller then acts as.
 */

/** `claim == "value"`, `claim != "value"`, or `claim matches "glob*"` (* is any run of characters). */
export interface ClaimRule {
  claim: string
  op: '==' | '!=' | 'matches'
  value: string
  text: string
}

export type JwksSource = {kind: 'url'; url: string} | {kind: 'discovery'; url: string} | {kind: 'file'; set: JSONWebKeySet} | {kind: 'kubernetes'}

export interface WorkloadIssuer extends MachineActor {
  issuer: string
  audiences: string[]
  rules: ClaimRule[]
  jwks: JwksSource
  /** `trusted_workload_issuers[i]`, for messages. */
  label: string
}

/** Default lifetime of an exchanged token: long enough for a test run, short enough to be useless when leaked. */
export const DEFAULT_EXCHANGED_TOKEN_LIFETIME = 900

const RULE = /^\s*([A-Za-z0-9_.:/-]+)\s*(==|!=|matches)\s*("(?:[^"\\]|\\.)*")\s*$/

export function parseRule(text: string, where: string): ClaimRule {
  const match = RULE.exec(text)
  if (!match) throw new MachineConfigError(`rule ${JSON.stringify(text)} of ${where} is not understood; write claim == "value", claim != "value" or claim matches "prefix*".`)
  return {claim: match[1], op: match[2] as ClaimRule['op'], value: JSON.parse(match[3]) as string, text: text.trim()}
}

function httpsUrl(value: string, key: string, where: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new MachineConfigError(`\`${key}\` of ${where} is not a URL: ${JSON.stringify(value)}.`)
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\./.test(url.hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new MachineConfigError(`\`${key}\` of ${where} must be an https:// URL.`)
  return value
}

/** Reads `trusted_workload_issuers` (type-checked by the schema). `audiences` defaults to kmcp's public URL and MCP endpoint. */
export function loadWorkloadIssuers(entries: WorkloadIssuerYaml[] | null | undefined, path: string, defaults: {audiences: string[]; scopes: string[]}): WorkloadIssuer[] {
  return (entries ?? []).map((entry, index) => {
    const label = `trusted_workload_issuers[${index}]`
    const where = `${label} in ${path}`
    const issuer = entry.issuer.trim()
    if (!URL.canParse(issuer)) throw new MachineConfigError(`\`issuer\` of ${where} must be the issuer URL exactly as the tokens carry it in \`iss\`.`)
    const sources = [entry.jwks_url, entry.discovery_url, entry.jwks_file, entry.jwks_from_kubernetes ? true : undefined].filter((v) => v !== undefined && v !== null && v !== '')
    if (sources.length > 1) throw new MachineConfigError(`${where}: set only one of jwks_url, discovery_url, jwks_file, jwks_from_kubernetes.`)
    let jwks: JwksSource
    if (entry.jwks_url) jwks = {kind: 'url', url: httpsUrl(String(entry.jwks_url), 'jwks_url', where)}
    else if (entry.jwks_file) {
      try {
        jwks = {kind: 'file', set: JSON.parse(readFileSync(String(entry.jwks_file), 'utf8')) as JSONWebKeySet}
      } catch (error) {
        throw new MachineConfigError(`cannot read the JSON Web Key Set ${entry.jwks_file} (jwks_file of ${where}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`)
      }
    } else if (entry.jwks_from_kubernetes) jwks = {kind: 'kubernetes'}
    else jwks = {kind: 'discovery', url: httpsUrl(String(entry.discovery_url ?? `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`), 'discovery_url', where)}
    const rules = listOfRules(entry.rules).map((rule) => parseRule(rule, where))
    const audiences = listOf(entry.audience)
    const actor = actorFrom(entry, where, {scopes: defaults.scopes})
    return {issuer, audiences: audiences.length > 0 ? audiences : defaults.audiences, rules, jwks, label, ...actor}
  })
}

/** Rules are whole expressions with spaces: a single string is one rule, not a space-separated list. */
function listOfRules(value: WorkloadIssuerYaml['rules']): string[] {
  if (value === undefined || value === null || value === '') return []
  return Array.isArray(value) ? value.map(String) : [String(value)]
}

/** The claim at a path; a dotted name that is itself a key (kubernetes.io) wins over descending. */
function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path]
  for (const [key, value] of Object.entries(claims)) {
    if (path.startsWith(`${key}.`) && value && typeof value === 'object' && !Array.isArray(value)) {
      const found = claimAt(value as Record<string, unknown>, path.slice(key.length + 1))
      if (found !== undefined) return found
    }
  }
  return undefined
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's')
}

/** The first rule the claims do not satisfy, or undefined when all hold. */
export function failedRule(rules: ClaimRule[], claims: JWTPayload): ClaimRule | undefined {
  for (const rule of rules) {
    const raw = claimAt(claims as Record<string, unknown>, rule.claim)
    const values = (Array.isArray(raw) ? raw : [raw]).filter((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean').map(String)
    const matches = (v: string) => (rule.op === 'matches' ? glob(rule.value).test(v) : v === rule.value)
    const holds = rule.op === '!=' ? raw !== undefined && !values.some(matches) : values.some(matches)
    if (!holds) return rule
  }
  return undefined
}

/** A refusal whose message is safe to send to the caller (it names no secret and no rule). */
export class WorkloadTokenError extends Error {}

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']

export interface VerifiedWorkload {
  issuer: WorkloadIssuer
  claims: JWTPayload
}

/** Verifies subject tokens against the trusted issuers; each issuer's keys are fetched on first use. */
export class WorkloadTokenVerifier {
  private readonly issuers: WorkloadIssuer[]
  private readonly kubernetesJwks?: () => Promise<JSONWebKeySet>
  private readonly keySets = new Map<WorkloadIssuer, JWTVerifyGetKey>()

  constructor(issuers: WorkloadIssuer[], kubernetesJwks?: () => Promise<JSONWebKeySet>) {
    this.issuers = issuers
    this.kubernetesJwks = kubernetesJwks
  }

  get enabled(): boolean {
    return this.issuers.length > 0
  }

  /** The matching issuer entry and the verified claims; throws WorkloadTokenError with the reason. */
  async verify(token: string, log: (reason: string, details: Record<string, unknown>) => void): Promise<VerifiedWorkload> {
    let iss: string | undefined
    try {
      iss = decodeJwt(token).iss
    } catch {
      throw new WorkloadTokenError('subject_token is not a JWT (send the OIDC ID token your CI platform issued)')
    }
    const candidates = this.issuers.filter((entry) => entry.issuer === iss)
    if (candidates.length === 0) throw new WorkloadTokenError(`the subject_token's issuer ${JSON.stringify(String(iss).slice(0, 200))} is not one of this server's trusted_workload_issuers`)
    let refusal: WorkloadTokenError | undefined
    let unavailable: KeysUnavailableError | undefined
    for (const entry of candidates) {
      let claims: JWTPayload
      try {
        ;({payload: claims} = await jwtVerify(token, this.keysOf(entry), {issuer: entry.issuer, audience: entry.audiences, algorithms: ALGORITHMS, requiredClaims: ['exp', 'sub'], clockTolerance: 30}))
      } catch (error) {
        if (error instanceof KeysUnavailableError) {
          // This entry might have accepted the token: the caller should try again, not give up.
          unavailable ??= error
          continue
        }
        refusal ??= describe(error, entry)
        log('subject_token refused', {issuer: entry.issuer, entry: entry.label, reason: (error as Error).message})
        continue
      }
      const failed = failedRule(entry.rules, claims)
      if (!failed) return {issuer: entry, claims}
      log('subject_token refused: a claim rule does not hold', {issuer: entry.issuer, entry: entry.label, rule: failed.text, sub: claims.sub})
      refusal ??= new WorkloadTokenError(`no trusted_workload_issuers entry for ${entry.issuer} accepts this token's claims (the kmcp log names the rule)`)
    }
    throw unavailable ?? refusal!
  }

  private keysOf(entry: WorkloadIssuer): JWTVerifyGetKey {
    let keys = this.keySets.get(entry)
    if (!keys) {
      keys = this.createKeys(entry)
      this.keySets.set(entry, keys)
    }
    return keys
  }

  private createKeys(entry: WorkloadIssuer): JWTVerifyGetKey {
    const source = entry.jwks
    if (source.kind === 'file') return createLocalJWKSet(source.set)
    if (source.kind === 'url') return new CachedKeySet(entry.issuer, jwksFromUrl(source.url, entry.issuer)).getKey
    if (source.kind === 'discovery') return new CachedKeySet(entry.issuer, jwksFromDiscovery(source.url, entry.issuer)).getKey
    return new CachedKeySet(entry.issuer, async () => {
      if (!this.kubernetesJwks) throw new KeysUnavailableError(entry.issuer, 'this server has no Kubernetes connection to read the service-account issuer keys from')
      try {
        return await this.kubernetesJwks()
      } catch (error) {
        throw new KeysUnavailableError(entry.issuer, `kmcp cannot read the service-account issuer keys (/openid/v1/jwks) through its Kubernetes connection: ${(error as Error).message.split('\n')[0]}`)
      }
    }).getKey
  }
}

function describe(error: unknown, entry: WorkloadIssuer): WorkloadTokenError {
  if (error instanceof WorkloadTokenError) return error
  if (error instanceof errors.JWTExpired) return new WorkloadTokenError('the subject_token has expired; request a fresh one from your platform')
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') return new WorkloadTokenError(`the subject_token's audience is not one ${entry.label} accepts (${entry.audiences.join(', ')}); request the token for that audience`)
  if (error instanceof errors.JWTClaimValidationFailed) return new WorkloadTokenError(`the subject_token's ${error.claim} claim is missing or invalid`)
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) return new WorkloadTokenError(`the subject_token's signature does not verify with the keys of ${entry.issuer}`)
  return new WorkloadTokenError(`the subject_token could not be verified against ${entry.issuer}: ${(error as Error).message}`)
}
