// Shared pieces of the machine-caller tests: machine_clients and trusted_workload_issuers
// entries with their secret, key and JWKS files, a local "CI platform" that signs ID tokens with
// its own key (for the cases the API server cannot produce: expired, foreign issuer), and
// service-account tokens from the real kube-apiserver (TokenRequest).
import {randomBytes, randomUUID} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload} from 'jose'
import {expectStatus, kubeRequest} from '../support/kube.ts'
import type {HttpServerProcess} from '../support/mcp.ts'

/** The issuer the harness's API server writes into service-account tokens (its --service-account-issuer). */
export const KUBERNETES_ISSUER = 'https://kubernetes.default.svc.cluster.local'
/** A made-up CI platform whose keys only the test holds. */
export const LOCAL_CI_ISSUER = 'https://ci.example.test'

export interface MachineFixtures {
  dir: string
  basicSecret: string
  jwtClientKey: CryptoKey
  /** Signs ID tokens as the local CI platform. */
  ciKey: CryptoKey
  /** machine_clients and trusted_workload_issuers for oidc.yaml. */
  config: Record<string, unknown>
}

export async function machineFixtures(options: {serviceAccountSubject: string}): Promise<MachineFixtures> {
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-machine-'))
  const basicSecret = randomBytes(32).toString('hex')
  writeFileSync(join(dir, 'ci-basic.secret'), `${basicSecret}\n`, {mode: 0o600})
  const jwtClient = await generateKeyPair('ES256', {extractable: true})
  writeFileSync(join(dir, 'ci-jwt.pub.pem'), await exportSPKI(jwtClient.publicKey))
  const ci = await generateKeyPair('RS256', {extractable: true})
  writeFileSync(join(dir, 'ci-jwks.json'), JSON.stringify({keys: [{...(await exportJWK(ci.publicKey)), kid: 'ci-1', alg: 'RS256', use: 'sig'}]}))
  return {
    dir,
    basicSecret,
    jwtClientKey: jwtClient.privateKey,
    ciKey: ci.privateKey,
    config: {
      machine_clients: [
        {client_id: 'ci-basic', client_secret_file: join(dir, 'ci-basic.secret'), username: 'ci-bot', groups: ['kmcp-ci']},
        {client_id: 'ci-jwt', public_key_file: join(dir, 'ci-jwt.pub.pem'), username: 'ci-jwt-bot', token_lifetime_seconds: 600},
      ],
      trusted_workload_issuers: [
        {issuer: LOCAL_CI_ISSUER, jwks_file: join(dir, 'ci-jwks.json'), rules: ['repository == "org/repo"', 'ref matches "refs/heads/*"'], username: 'ci:org/repo', groups: ['kmcp-ci']},
        {issuer: KUBERNETES_ISSUER, jwks_from_kubernetes: true, rules: [`sub == "${options.serviceAccountSubject}"`], username: 'k8s-ci', token_lifetime_seconds: 600},
      ],
    },
  }
}

/** An ID token of the local CI platform (RS256, kid ci-1), valid for 5 minutes unless the claims say otherwise. */
export async function ciIdToken(key: CryptoKey, claims: JWTPayload & {audience: string}, options: {issuer?: string; kid?: string} = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const {audience, ...rest} = claims
  return new SignJWT({iat: now, exp: now + 300, jti: randomUUID(), sub: 'repo:org/repo:ref:refs/heads/main', repository: 'org/repo', ref: 'refs/heads/main', ...rest})
    .setProtectedHeader({alg: 'RS256', kid: options.kid ?? 'ci-1', typ: 'JWT'})
    .setIssuer(options.issuer ?? LOCAL_CI_ISSUER)
    .setAudience(audience)
    .sign(key)
}

/** A private_key_jwt client assertion (RFC 7523) for `clientId`. */
export async function clientAssertion(key: CryptoKey, clientId: string, audience: string, options: {lifetime?: number; jti?: string} = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({jti: options.jti ?? randomUUID()})
    .setProtectedHeader({alg: 'ES256'})
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.lifetime ?? 60))
    .sign(key)
}

/** Creates a service account (idempotent). */
export async function createServiceAccount(namespace: string, name: string): Promise<void> {
  const created = await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name}})
  expectStatus(`create service account ${namespace}/${name}`, created, 201, 409)
}

/** A service-account token from the real API server (TokenRequest) for `audience`. */
export async function serviceAccountToken(namespace: string, name: string, audience: string): Promise<string> {
  const response = await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {audiences: [audience], expirationSeconds: 600}})
  expectStatus(`TokenRequest for ${namespace}/${name}`, response, 201)
  return response.body.status.token as string
}

export async function tokenRequest(publicUrl: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{status: number; body: Record<string, any>; headers: Headers}> {
  const response = await fetch(`${publicUrl}/token`, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded', ...headers}, body: new URLSearchParams(form)})
  return {status: response.status, body: (await response.json()) as Record<string, any>, headers: response.headers}
}

export function basicAuth(clientId: string, secret: string): Record<string, string> {
  return {authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`}
}

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token'

export function exchangeForm(subjectToken: string, extra: Record<string, string> = {}): Record<string, string> {
  return {grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: ID_TOKEN_TYPE, ...extra}
}

/** The JSON audit lines a kmcp serve process has written to stderr so far. */
export function auditLinesOf(server: HttpServerProcess): Array<Record<string, unknown>> {
  return server
    .stderr()
    .split('\n')
    .filter((line) => line.includes('"kind":"audit"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}
