// auth_type: oidc (Keycloak, Okta, Entra ID, Dex, Google…): identity from the verified ID token,
// no Auth0 `audience`. The identity provider here issues short-lived access tokens, so kmcp must
// renew the upstream grant transparently on every request that finds it expiring.
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'
import {createNamespace, deleteNamespace, harness, kubeRequest, waitFor} from '../support/kube.ts'
import {callTool, connectHttp, startHttpServer, textOf, type HttpServerProcess} from '../support/mcp.ts'
import {startIdentityProvider, type TestIdentityProvider} from '../support/oidc.ts'
import {freePort, startRedis, type TestRedis} from '../support/redis.ts'
import {userIdFor} from '../../src/lib/auth/user-hash.ts'
import {obtainTokens, writeAuthConfig} from './helpers.ts'

let redis: TestRedis
let idp: TestIdentityProvider
let kmcp: HttpServerProcess
let publicUrl: string
let namespace: string

before(async () => {
  namespace = await createNamespace('auth-oidc')
  await waitFor(async () => (await kubeRequest('admin', 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${namespace}/clusters`)).status === 200, {message: 'CNPG clusters listable'})
  const port = await freePort()
  publicUrl = `http://127.0.0.1:${port}`
  redis = await startRedis()
  // 20 s is inside kmcp's 30 s renewal margin: every request renews the upstream grant.
  idp = await startIdentityProvider({kmcpCallbacks: [`${publicUrl}/auth/callback`], accessTokenTtl: 20})
  const files = writeAuthConfig({idp, publicUrl, redisUrl: redis.url, authType: 'oidc', extra: {audience: undefined, admin_groups: ['team-a']}})
  kmcp = await startHttpServer({kubeconfig: harness().kubeconfigPath, port, extraArgs: ['--oidc-config', files.configPath]})
})

after(async () => {
  await kmcp?.stop()
  await idp?.close()
  await redis?.stop()
  if (namespace) await deleteNamespace(namespace)
})

test('generic OIDC: sign-in from the ID token, upstream grant renewed per request', async () => {
  idp.signInAs('alice')
  const tokens = await obtainTokens(publicUrl)
  assert.match(kmcp.stderr(), new RegExp(`user signed in.*${userIdFor({preferred_username: 'alice'}, idp.issuer)}`))
  const before = idp.tokenRequests()
  const client = await connectHttp(`${publicUrl}/mcp`, {authorization: `Bearer ${tokens.access_token}`})
  const result = await callTool(client, 'list_postgres_clusters', {namespace})
  assert.ok(!result.isError, textOf(result))
  assert.ok(idp.tokenRequests() > before, 'kmcp renewed the expiring upstream access token')
  await client.close()
})

test('a revoked upstream grant ends the kmcp token', async () => {
  idp.signInAs('bob')
  const tokens = await obtainTokens(publicUrl)
  const revoke = await fetch(`${publicUrl}/revoke`, {
    method: 'POST',
    headers: {'content-type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams({token: tokens.access_token, client_id: tokens.clientId}),
  })
  assert.equal(revoke.status, 200)
  const refresh = await fetch(`${publicUrl}/token`, {
    method: 'POST',
    headers: {'content-type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: tokens.clientId}),
  })
  assert.equal(refresh.status, 400)
})
