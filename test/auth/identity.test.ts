// Who a sign-in is: the Kubernetes identity and admin rights come from an immutable claim with a
// prefix, never from display names; groups are sanitised; the optional allow-list turns others
// away at sign-in. The mapping on its own, then the allow-list through a real sign-in.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import type {AuthConfig} from '../../src/lib/auth/config.ts'
import {identityOf, kubernetesGroups} from '../../src/lib/auth/identity.ts'
import type {UpstreamClaims} from '../../src/lib/auth/upstream.ts'
import {Browser, authorizeUrl, pkcePair, registerClient, startAuthStack, type AuthStack} from './helpers.ts'

const ISSUER = 'https://idp.example.com/'

function config(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return {
    kubernetesUsername: {claim: 'sub', prefix: 'oidc:'},
    kubernetesGroups: {claim: 'groups', prefix: 'oidc:'},
    adminUsers: [],
    adminGroups: [],
    allowedUsers: [],
    allowedGroups: [],
    allowedEmailDomains: [],
    ...overrides,
  } as AuthConfig
}

function who(claims: Partial<UpstreamClaims>, overrides: Partial<AuthConfig> = {}, impersonate = true) {
  return identityOf({accessToken: 'x', claims: {iss: ISSUER, sub: 'sub-1', ...claims}}, config(overrides), impersonate)
}

function identity(claims: Partial<UpstreamClaims>, overrides: Partial<AuthConfig> = {}) {
  const result = who(claims, overrides)
  assert.ok(result.ok, result.ok ? '' : result.reason)
  return result.identity
}

describe('identity mapping', () => {
  test('display name, user name and email do not decide who you are: the subject does', () => {
    const alice = identity({sub: 'auth0|1', preferred_username: 'alice', name: 'Alice', email: 'alice@corp.com', email_verified: true})
    for (const lookalike of [{name: 'Alice'}, {email: 'alice@gmail.com'}, {preferred_username: 'alice'}, {email: 'alice@corp.com', email_verified: false}]) {
      const other = identity({sub: 'auth0|2', ...lookalike})
      assert.notEqual(other.kubernetes?.user, alice.kubernetes?.user, JSON.stringify(lookalike))
      assert.notEqual(other.subject, alice.subject)
    }
    assert.equal(alice.kubernetes?.user, 'oidc:auth0|1')
    assert.equal(alice.subject, 'oidc:auth0|1')
  })

  test('admin_users matches the prefixed subject, never a display name or email', () => {
    assert.equal(identity({sub: 'x', name: 'root', preferred_username: 'root', email: 'root@corp.com'}, {adminUsers: ['root', 'root@corp.com', 'root-abcdef']}).isAdmin, false)
    assert.equal(identity({sub: 'x'}, {adminUsers: ['x']}).isAdmin, false, 'an unprefixed subject is not enough')
    assert.equal(identity({sub: 'x'}, {adminUsers: ['oidc:x']}).isAdmin, true)
  })

  test('admin_groups matches prefixed groups only', () => {
    assert.equal(identity({groups: ['ops']}, {adminGroups: ['ops']}).isAdmin, false)
    assert.equal(identity({groups: ['ops']}, {adminGroups: ['oidc:ops']}).isAdmin, true)
  })

  test('groups: system: and values with whitespace or control characters are dropped, the rest prefixed', () => {
    const groups = ['system:masters', ' system:masters', 'system:masters ', 'system:\u0000masters', 'a\u200bb', 'team\nx', '', 'kubeadm:cluster-admins', 'team-a', 'team-a']
    assert.deepEqual(kubernetesGroups(groups, 'oidc:'), ['oidc:kubeadm:cluster-admins', 'oidc:team-a'])
    assert.deepEqual(kubernetesGroups(['system:masters', 'team-a'], ''), ['team-a'], 'no system: group even without a prefix')
  })

  test('email as the username claim only when the provider verified it', () => {
    const byEmail = {kubernetesUsername: {claim: 'email', prefix: 'corp:'}}
    assert.equal(identity({email: 'a@corp.com', email_verified: true}, byEmail).kubernetes?.user, 'corp:a@corp.com')
    const unverified = who({email: 'a@corp.com', email_verified: false}, byEmail)
    assert.equal(unverified.ok, false)
    assert.match(unverified.ok ? '' : unverified.reason, /not verified your email/)
  })

  test('a subject with whitespace or control characters is refused', () => {
    for (const sub of [' alice', 'alice\n', 'a\u0007b']) assert.equal(who({sub}).ok, false, JSON.stringify(sub))
  })

  test('allow-list: users by subject, groups prefixed, verified email domains', () => {
    const list = {allowedUsers: ['oidc:u1'], allowedGroups: ['oidc:staff'], allowedEmailDomains: ['corp.com']}
    assert.equal(who({sub: 'u1'}, list).ok, true)
    assert.equal(who({sub: 'u2', groups: ['staff']}, list).ok, true)
    assert.equal(who({sub: 'u3', email: 'x@corp.com', email_verified: true}, list).ok, true)
    assert.equal(who({sub: 'u4', email: 'x@corp.com', email_verified: false}, list).ok, false, 'an unverified address proves nothing')
    assert.equal(who({sub: 'u5', email: 'x@corp.com.evil.example', email_verified: true}, list).ok, false)
    assert.equal(who({sub: 'u6', groups: ['oidc:staff']}, list).ok, false, 'a group already carrying the prefix is prefixed again')
    assert.equal(who({sub: 'u7'}).ok, true, 'no allow-list: everyone the provider accepts')
  })
})

describe('allow-list at sign-in (real kmcp, real provider)', () => {
  let stack: AuthStack
  before(async () => {
    stack = await startAuthStack({extraConfig: {allowed_users: ['oidc:alice']}})
  })
  after(async () => {
    await stack?.stop()
  })

  async function signInAs(user: string): Promise<{status: number; text: string; location?: string}> {
    stack.idp.signInAs(user)
    const redirectUri = 'http://127.0.0.1:53682/callback'
    const clientId = await registerClient(stack.publicUrl, redirectUri)
    const browser = new Browser()
    try {
      const back = await browser.signIn(authorizeUrl(stack.publicUrl, {response_type: 'code', client_id: clientId, redirect_uri: redirectUri, code_challenge: pkcePair().challenge, code_challenge_method: 'S256', state: 's'}), redirectUri)
      return {status: 302, text: '', location: back.toString()}
    } catch (error) {
      const match = /HTTP (\d+) ([\s\S]*)$/.exec((error as Error).message)
      return {status: Number(match?.[1] ?? 0), text: match?.[2] ?? ''}
    }
  }

  test('someone not on the list gets a clear 403 page and no code', async () => {
    const before = new Set(await stack.redis.keys())
    const bob = await signInAs('bob')
    assert.equal(bob.status, 403)
    assert.match(bob.text, /Not allowed/)
    const added = (await stack.redis.keys()).filter((k) => !before.has(k) && k.startsWith('mcp:oauth:code:'))
    assert.deepEqual(added, [], 'no authorization code is stored')
    assert.match(stack.replicas[0].stderr(), /sign-in refused/)
  })

  test('someone on the list signs in', async () => {
    const alice = await signInAs('alice')
    assert.equal(alice.status, 302)
    assert.ok(new URL(alice.location!).searchParams.get('code'))
  })
})
