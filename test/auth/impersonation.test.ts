// kmcp serve --impersonate: every Kubernetes request carries the signed-in user's stable subject
// (oidc:<sub>) and prefixed groups, so the real API server's RBAC decides. alice may manage
// clusters in her namespace only, bob in none (except what his group is given), and an account
// that copies alice's display name, user name and email gets nothing of hers.
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'
import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {bindRole, deleteNamespace, kubeRequest, waitFor} from '../support/kube.ts'
import {callTool, connectHttp, textOf, type HttpServerProcess} from '../support/mcp.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {TEST_USERS, type TestIdentityProvider} from '../support/oidc.ts'
import {userIdFor} from '../../src/lib/auth/user-hash.ts'
import {cnpgNamespace, obtainTokens, startAuthStack, type AuthStack} from './helpers.ts'

/** alice's Kubernetes identity: the test provider's sub is the account name. */
const ALICE = 'oidc:alice'

let stack: AuthStack
let idp: TestIdentityProvider
let kmcp: HttpServerProcess
let publicUrl: string
let aliceNs: string
let otherNs: string
const clients: Client[] = []

before(async () => {
  aliceNs = await cnpgNamespace('imp-alice')
  otherNs = await cnpgNamespace('imp-other')
  for (const ns of [aliceNs, otherNs]) await makeHealthyCluster(ns, 'orders-db')
  // kmcp itself runs as the harness admin, which may impersonate.
  stack = await startAuthStack({extraArgs: ['--impersonate']})
  ;({idp, publicUrl} = stack)
  kmcp = stack.replicas[0]
  // The Kubernetes user is the prefixed immutable subject (sub): bind RBAC to exactly that name.
  // (The CNPG chart's edit role holds only the write verbs; reading comes from its view role.)
  await bindRole(aliceNs, ALICE, 'cnpg-cloudnative-pg-view')
  await bindRole(aliceNs, ALICE, 'cnpg-cloudnative-pg-edit')
  // Groups from the token's groups claim arrive as Impersonate-Group, with the same prefix.
  await bindRole(otherNs, 'oidc:team-b', 'cnpg-cloudnative-pg-view', {subjectKind: 'Group'})
  // RBAC reaches the authorizer asynchronously: wait until the API server applies the bindings.
  await waitFor(() => allowed({user: ALICE}, 'patch', aliceNs), {message: 'alice may patch clusters'})
  await waitFor(() => allowed({user: ALICE}, 'list', aliceNs), {message: 'alice may list clusters'})
  await waitFor(() => allowed({user: 'someone', groups: ['oidc:team-b']}, 'list', otherNs), {message: 'team-b may list clusters'})
})

async function allowed(subject: {user: string; groups?: string[]}, verb: string, namespace: string): Promise<boolean> {
  const review = await kubeRequest('admin', 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {...subject, resourceAttributes: {group: 'postgresql.cnpg.io', resource: 'clusters', verb, namespace}},
  })
  return review.status === 201 && review.body?.status?.allowed === true
}

after(async () => {
  for (const client of clients) await client.close().catch(() => undefined)
  await stack?.stop()
  for (const ns of [aliceNs, otherNs]) if (ns) await deleteNamespace(ns)
})

async function connectAs(user: string): Promise<Client> {
  idp.signInAs(user)
  const tokens = await obtainTokens(publicUrl)
  const client = await connectHttp(`${publicUrl}/mcp`, {authorization: `Bearer ${tokens.access_token}`})
  clients.push(client)
  return client
}

test('alice manages clusters in her namespace only', async () => {
  const alice = await connectAs('alice')
  const own = await callTool(alice, 'list_postgres_clusters', {namespace: aliceNs})
  assert.ok(!own.isError, textOf(own))
  assert.match(textOf(own), /orders-db/)
  const status = await callTool(alice, 'get_cluster_status', {namespace: aliceNs, name: 'orders-db'})
  assert.ok(!status.isError, textOf(status))
  const scale = await callTool(alice, 'scale_postgres_cluster', {namespace: aliceNs, name: 'orders-db', instances: 2, dry_run: true})
  assert.ok(!scale.isError, textOf(scale))

  const other = await callTool(alice, 'list_postgres_clusters', {namespace: otherNs})
  assert.equal(other.isError, true)
  assert.match(textOf(other), /403|forbidden|not allowed/i)
  const otherScale = await callTool(alice, 'scale_postgres_cluster', {namespace: otherNs, name: 'orders-db', instances: 2, dry_run: true})
  assert.equal(otherScale.isError, true)

  // The audit line names alice's user id for the mutating call.
  const aliceId = userIdFor({preferred_username: 'alice'}, idp.issuer)
  // The server writes the line before it answers, but stderr reaches this process through a pipe
  // of its own: wait (bounded) until both lines have arrived.
  const auditLines = () =>
    kmcp
      .stderr()
      .split('\n')
      .filter((line) => line.includes('"kind":"audit"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  const okLine = (a: Record<string, unknown>) => a.user === aliceId && a.subject === ALICE && a.tool === 'scale_postgres_cluster' && a.dry_run === true && a.result === 'ok'
  const errorLine = (a: Record<string, unknown>) => a.user === aliceId && a.tool === 'scale_postgres_cluster' && a.result === 'error'
  await waitFor(() => auditLines().some(okLine) && auditLines().some(errorLine), {timeoutMs: 10_000, message: `audit lines for alice's calls; got ${JSON.stringify(auditLines())}`}).catch(() => undefined)
  const audit = auditLines()
  assert.ok(audit.some(okLine), JSON.stringify(audit))
  assert.ok(audit.some(errorLine), JSON.stringify(audit))
})

test('bob may manage nothing; his group may read the other namespace', async () => {
  const bob = await connectAs('bob')
  for (const namespace of [aliceNs]) {
    const list = await callTool(bob, 'list_postgres_clusters', {namespace})
    assert.equal(list.isError, true, textOf(list))
    const scale = await callTool(bob, 'scale_postgres_cluster', {namespace, name: 'orders-db', instances: 2, dry_run: true})
    assert.equal(scale.isError, true, textOf(scale))
  }
  const viaGroup = await callTool(bob, 'list_postgres_clusters', {namespace: otherNs})
  assert.ok(!viaGroup.isError, textOf(viaGroup))
  const writeViaGroup = await callTool(bob, 'scale_postgres_cluster', {namespace: otherNs, name: 'orders-db', instances: 2, dry_run: true})
  assert.equal(writeViaGroup.isError, true, 'the view role does not allow changes')
})

test('an identity provider cannot grant Kubernetes system groups, plain or disguised by whitespace', async () => {
  // mallory's groups claim: system:masters, " system:masters", "system:masters\t", kubeadm:cluster-admins, team-m.
  const mallory = await connectAs('mallory')
  const list = await callTool(mallory, 'list_postgres_clusters', {namespace: aliceNs})
  assert.equal(list.isError, true, 'system:masters from the token must not reach Impersonate-Group')
  assert.match(textOf(list), /oidc:mallory/)
  const nodes = await callTool(mallory, 'list_postgres_clusters', {namespace: otherNs})
  assert.equal(nodes.isError, true, textOf(nodes))
  const signedIn = kmcp.stderr().split('\n').filter((line) => line.includes('user signed in') && line.includes('oidc:mallory'))
  assert.ok(signedIn.length > 0, 'the sign-in line names the subject')
  const groups = (JSON.parse(signedIn.at(-1)!.slice(signedIn.at(-1)!.indexOf('{'))) as {groups: string[]}).groups
  assert.deepEqual(groups, ['oidc:kubeadm:cluster-admins', 'oidc:team-m'], 'system: groups and values with whitespace are dropped; the rest are prefixed')
})

test('an account with the same display name, user name and email as alice gets none of her rights', async () => {
  const impostor = await connectAs('alice-impostor')
  const list = await callTool(impostor, 'list_postgres_clusters', {namespace: aliceNs})
  assert.equal(list.isError, true, `the impostor must not get alice's RoleBindings: ${textOf(list)}`)
  assert.match(textOf(list), /oidc:alice-impostor/)
  const scale = await callTool(impostor, 'scale_postgres_cluster', {namespace: aliceNs, name: 'orders-db', instances: 2, dry_run: true})
  assert.equal(scale.isError, true)
  // Same display id (it only names), different Kubernetes identity (it grants).
  assert.equal(userIdFor({preferred_username: 'alice'}, idp.issuer), userIdFor(TEST_USERS['alice-impostor'] as Record<string, unknown>, idp.issuer))
  // alice herself, signed in afterwards, still has her rights.
  const alice = await connectAs('alice')
  const own = await callTool(alice, 'list_postgres_clusters', {namespace: aliceNs})
  assert.ok(!own.isError, textOf(own))
})
