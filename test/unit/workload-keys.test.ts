// The key cache of trusted workload issuers (src/lib/auth/workload-keys.ts): fresh keys for 10
// minutes, the cached keys through an outage of up to an hour, then "unavailable" (503 at /token),
// and at most one fetch per 30 s while the issuer is down. The clock is node:test's mock timers;
// the tokens are real JWTs verified by jose.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {SignJWT, exportJWK, generateKeyPair, jwtVerify, type CryptoKey} from 'jose'
import {CachedKeySet, KeysUnavailableError} from '../../src/lib/auth/workload-keys.ts'

const ISSUER = 'https://ci.example.test'
const MINUTE = 60_000

async function idToken(key: CryptoKey, kid: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({sub: 'repo:org/repo'}).setProtectedHeader({alg: 'RS256', kid}).setIssuer(ISSUER).setIssuedAt(now).setExpirationTime(now + 4 * 3600).sign(key)
}

test('cached keys verify through a short outage; after an hour, or for an unknown key, the keys are unavailable', async (t) => {
  t.mock.timers.enable({apis: ['Date'], now: Date.UTC(2026, 0, 1)})
  const {publicKey, privateKey} = await generateKeyPair('RS256', {extractable: true})
  const jwks = {keys: [{...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256'}]}
  let down = false
  let loads = 0
  const keys = new CachedKeySet(ISSUER, async () => {
    loads++
    if (down) throw new Error('connect ECONNREFUSED 192.0.2.1:443')
    return jwks
  })
  const verify = async (token: string) => (await jwtVerify(token, keys.getKey, {issuer: ISSUER})).payload.sub
  const token = await idToken(privateKey, 'k1')

  assert.equal(await verify(token), 'repo:org/repo')
  assert.equal(loads, 1)
  assert.equal(await verify(token), 'repo:org/repo')
  assert.equal(loads, 1, 'fresh keys are not fetched again')

  down = true
  t.mock.timers.tick(11 * MINUTE)
  assert.equal(await verify(token), 'repo:org/repo', 'stale but within the hour: still verifies')
  assert.equal(loads, 2, 'one attempt to refresh')
  t.mock.timers.tick(10_000)
  assert.equal(await verify(token), 'repo:org/repo')
  assert.equal(loads, 2, 'no new attempt within 30 s of the last')

  const other = await generateKeyPair('RS256')
  t.mock.timers.tick(31_000)
  await assert.rejects(verify(await idToken(other.privateKey, 'k2')), (error: Error) => error instanceof KeysUnavailableError && /cannot fetch the keys of https:\/\/ci\.example\.test: connect ECONNREFUSED/.test(error.message), 'an unknown key needs a fetch, which fails')

  t.mock.timers.tick(50 * MINUTE)
  await assert.rejects(verify(token), (error: Error) => error instanceof KeysUnavailableError && error.issuer === ISSUER, 'more than an hour old: no longer used')

  down = false
  t.mock.timers.tick(31_000)
  assert.equal(await verify(token), 'repo:org/repo', 'back after the outage')
})

test('no keys yet and the issuer down: every verification is "unavailable", not a refusal', async () => {
  const keys = new CachedKeySet(ISSUER, async () => {
    throw new KeysUnavailableError(ISSUER, 'https://ci.example.test/jwks answered HTTP 502')
  })
  const {privateKey} = await generateKeyPair('RS256')
  await assert.rejects(jwtVerify(await idToken(privateKey, 'k1'), keys.getKey), (error: Error) => error instanceof KeysUnavailableError && error.message === 'https://ci.example.test/jwks answered HTTP 502')
  const empty = new CachedKeySet(ISSUER, async () => ({}) as never)
  await assert.rejects(jwtVerify(await idToken(privateKey, 'k1'), empty.getKey), /not a JSON Web Key Set/)
})
