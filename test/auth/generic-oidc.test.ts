// auth_type: oidc (Keycloak, Okta, Entra ID, Dex, Google…): identity from the verified ID token,
// no Auth0 `audience`. The identity provider here issues short-lived access tokens, so kmcp must
// renew the upstream grant transparently on every request that finds it expiring.
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'
import {deleteNamespace} from '../support/kube.ts'
import {callTool, connectHttp, textOf, type HttpServerProcess} from '../support/mcp.ts'
import type {TestIdentityProvider} from '../support/oidc.ts'
import {userIdFor} from '../../src/lib/auth/user-hash.ts'
import {cnpgNamespace, obtainTokens, startAuthStack, type AuthStack} from './helpers.ts'

let stack: AuthStack
let idp: TestIdentityProvider
let kmcp: HttpServerProcess
let publicUrl: string
let namespace: string

before(async () => {
  namespace = await cnpgNamespace('auth-oidc')
  // 20 s is inside kmcp's 30 s renewal margin: every request renews the upstream grant.
  stack = await startAuthStack({authType: 'oidc', accessTokenTtl: 20, extraConfig: {audience: undefined, admin_groups: ['oidc:team-a']}})
  ;({idp, publicUrl} = stack)
  kmcp = stack.replicas[0]
})

after(async () => {
  await stack?.stop()
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

test('admin_groups: a member of team-a sees the admin tools, bob does not', async () => {
  const toolNames = async (user: string) => {
    idp.signInAs(user)
    const tokens = await obtainTokens(publicUrl)
    const client = await connectHttp(`${publicUrl}/mcp`, {authorization: `Bearer ${tokens.access_token}`})
    const names = (await client.listTools()).tools.map((t) => t.name)
    await client.close()
    return names
  }
  assert.ok((await toolNames('alice')).includes('admin_reload_prompts'))
  const bobs = await toolNames('bob')
  assert.ok(bobs.includes('list_postgres_clusters'))
  assert.ok(!bobs.includes('admin_reload_prompts'))
})
