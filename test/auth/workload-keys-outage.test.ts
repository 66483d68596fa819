// A trusted workload issuer whose keys cannot be fetched (down, an error status, not JSON, no
// answer): the token exchange answers 503 temporarily_unavailable with Retry-After and leaves an
// audit line, instead of refusing the caller's token; keys fetched before keep working while the
// issuer is down. The issuer is a local HTTP server whose behaviour the test switches.
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {after, before, test} from 'node:test'
import {exportJWK, generateKeyPair, type CryptoKey} from 'jose'
import {waitFor} from '../support/kube.ts'
import {startAuthStack, type AuthStack} from './helpers.ts'
import {auditLinesOf, ciIdToken, exchangeForm, tokenRequest} from './machine-helpers.ts'

const JWKS_ISSUER = 'https://ci-jwks.example.test'
const DISCOVERY_ISSUER = 'https://ci-discovery.example.test'
type Mode = 'ok' | 'down' | 'error' | 'not-json' | 'hang'

let stack: AuthStack
let issuerServer: Server
let origin: string
let key: CryptoKey
let jwks: Record<string, unknown>
let mode: Mode = 'down'
const hits = {jwks: 0, discovery: 0}

before(async () => {
  const pair = await generateKeyPair('RS256', {extractable: true})
  key = pair.privateKey
  jwks = {keys: [{...(await exportJWK(pair.publicKey)), kid: 'ci-1', alg: 'RS256', use: 'sig'}]}
  issuerServer = createServer((req, res) => {
    if (req.url === '/jwks') hits.jwks++
    if (req.url === '/.well-known/openid-configuration') hits.discovery++
    if (mode === 'hang') return
    if (mode === 'down') return void req.socket.destroy()
    if (mode === 'error') return void res.writeHead(502).end('bad gateway')
    if (mode === 'not-json') return void res.writeHead(200, {'content-type': 'application/json'}).end('<html>maintenance</html>')
    const body = req.url === '/jwks' ? jwks : {issuer: DISCOVERY_ISSUER, jwks_uri: `${origin}/jwks`}
    res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`
  stack = await startAuthStack({
    extraConfig: {
      trusted_workload_issuers: [
        {issuer: JWKS_ISSUER, jwks_url: `${origin}/jwks`, username: 'ci-jwks'},
        {issuer: DISCOVERY_ISSUER, discovery_url: `${origin}/.well-known/openid-configuration`, username: 'ci-discovery'},
      ],
    },
  })
})

after(async () => {
  await stack?.stop()
  issuerServer?.closeAllConnections()
  issuerServer?.close()
})

async function exchange(issuer: string): Promise<Awaited<ReturnType<typeof tokenRequest>>> {
  return tokenRequest(stack.publicUrl, exchangeForm(await ciIdToken(key, {audience: stack.publicUrl, sub: 'repo:org/repo'}, {issuer})))
}

function assertUnavailable(answer: Awaited<ReturnType<typeof tokenRequest>>, reason: RegExp, what: string): void {
  assert.equal(answer.status, 503, `${what}: ${JSON.stringify(answer.body)}`)
  assert.equal(answer.body.error, 'temporarily_unavailable', what)
  assert.match(answer.body.error_description, reason, what)
  assert.match(answer.body.error_description, /try again in 30 s$/, what)
  assert.equal(answer.headers.get('retry-after'), '30', what)
}

test('keys that cannot be fetched: 503 with Retry-After and an audit line, never a refusal of the token', async () => {
  const cases: Array<[Mode, RegExp]> = [
    ['down', new RegExp(`kmcp cannot reach ${origin}/jwks \\(the key set of ${JWKS_ISSUER}\\)`)],
    ['error', new RegExp(`${origin}/jwks \\(the key set of ${JWKS_ISSUER}\\) answered HTTP 502`)],
    ['not-json', /did not answer JSON/],
  ]
  for (const [next, reason] of cases) {
    mode = next
    assertUnavailable(await exchange(JWKS_ISSUER), reason, next)
  }
  mode = 'down'
  assertUnavailable(await exchange(DISCOVERY_ISSUER), /the discovery document of https:\/\/ci-discovery\.example\.test/, 'discovery down')
  await waitFor(() => auditLinesOf(stack.replicas[0]).filter((a) => a.event === 'workload_keys_unavailable').length >= 4, {timeoutMs: 5000, message: 'audit lines'}).catch(() => undefined)
  const audit = auditLinesOf(stack.replicas[0]).filter((a) => a.event === 'workload_keys_unavailable')
  assert.deepEqual(audit.map((a) => a.issuer), [JWKS_ISSUER, JWKS_ISSUER, JWKS_ISSUER, DISCOVERY_ISSUER])
  assert.ok(audit.every((a) => a.result === 'temporarily_unavailable' && typeof a.reason === 'string'))
})

test('an issuer that does not answer: 503 after the 5 s fetch limit', async () => {
  mode = 'hang'
  const started = Date.now()
  assertUnavailable(await exchange(DISCOVERY_ISSUER), /no answer within 5 s/, 'hang')
  assert.ok(Date.now() - started < 20_000)
})

test('keys fetched before keep verifying while the issuer is down', async () => {
  mode = 'ok'
  const first = await exchange(JWKS_ISSUER)
  assert.equal(first.status, 200, JSON.stringify(first.body))
  const viaDiscovery = await exchange(DISCOVERY_ISSUER)
  assert.equal(viaDiscovery.status, 200, JSON.stringify(viaDiscovery.body))
  const fetched = {...hits}
  mode = 'down'
  for (const issuer of [JWKS_ISSUER, DISCOVERY_ISSUER]) {
    const during = await exchange(issuer)
    assert.equal(during.status, 200, `${issuer} during the outage: ${JSON.stringify(during.body)}`)
  }
  assert.deepEqual(hits, fetched, 'the cached keys were used, nothing was fetched')
  // A real refusal is still a refusal: the wrong audience is the caller's problem, not the issuer's.
  const wrongAudience = await tokenRequest(stack.publicUrl, exchangeForm(await ciIdToken(key, {audience: 'https://elsewhere.example'}, {issuer: JWKS_ISSUER})))
  assert.deepEqual([wrongAudience.status, wrongAudience.body.error], [400, 'invalid_request'])
})
