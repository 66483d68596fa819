// Arguments that hand out database-wide power or run code of the caller's choosing: admin-only on
// a shared server (HTTP, no --impersonate), and container_image limited to allowed_images
// everywhere, stdio included (finding 8 of issue #14). Real kmcp, provider, Redis, API server.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {deleteNamespace, harness} from '../support/kube.ts'
import {callTool, connectHttp, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {cnpgNamespace, obtainTokens, startAuthStack, type AuthStack} from './helpers.ts'

let stack: AuthStack
let namespace: string
const clients: Client[] = []

before(async () => {
  namespace = await cnpgNamespace('priv')
  // Shared server: kmcp's own Kubernetes rights for everyone; team-a members are administrators.
  stack = await startAuthStack({extraConfig: {admin_groups: ['oidc:team-a']}})
})

after(async () => {
  for (const client of clients) await client.close().catch(() => undefined)
  await stack?.stop()
  if (namespace) await deleteNamespace(namespace)
})

async function connectAs(user: string): Promise<Client> {
  stack.idp.signInAs(user)
  const tokens = await obtainTokens(stack.publicUrl)
  const client = await connectHttp(`${stack.publicUrl}/mcp`, {authorization: `Bearer ${tokens.access_token}`})
  clients.push(client)
  return client
}

describe('shared HTTP server, non-administrator (bob)', () => {
  const role = {cluster_name: 'db1', role_name: 'app', namespace: () => namespace}

  for (const [field, value] of [['superuser', true], ['createrole', true], ['replication', true], ['bypassrls', true], ['password', 'A-Known-Password-123']] as const) {
    test(`update_postgres_role ${field}: refused, naming the field and why`, async () => {
      const bob = await connectAs('bob')
      const result = await callTool(bob, 'update_postgres_role', {cluster_name: role.cluster_name, role_name: role.role_name, namespace: role.namespace(), [field]: value, dry_run: true})
      assert.equal(result.isError, true, textOf(result))
      assert.match(textOf(result), new RegExp(`\`${field}\` may only be set by a kmcp administrator`))
    })
  }

  test('update_postgres_role with harmless fields goes on to the cluster (here: the role does not exist)', async () => {
    const bob = await connectAs('bob')
    const result = await callTool(bob, 'update_postgres_role', {cluster_name: 'db1', role_name: 'app', namespace, superuser: false, generate_password: true, dry_run: true})
    assert.equal(result.isError, true)
    assert.doesNotMatch(textOf(result), /administrator/)
  })

  test('create_postgres_cluster container_image: refused for a non-administrator, even from the allowed registry', async () => {
    const bob = await connectAs('bob')
    const result = await callTool(bob, 'create_postgres_cluster', {name: 'img-db', namespace, container_image: 'ghcr.io/cloudnative-pg/postgresql:17.2', dry_run: true})
    assert.equal(result.isError, true, textOf(result))
    assert.match(textOf(result), /`container_image` may only be set by a kmcp administrator/)
  })

  test('an administrator may set them; container_image still has to come from allowed_images', async () => {
    const alice = await connectAs('alice')
    const official = await callTool(alice, 'create_postgres_cluster', {name: 'img-db', namespace, container_image: 'ghcr.io/cloudnative-pg/postgresql:17.2', dry_run: true})
    assert.ok(!official.isError, textOf(official))
    const foreign = await callTool(alice, 'create_postgres_cluster', {name: 'img-db', namespace, container_image: 'docker.io/attacker/postgres:17', dry_run: true})
    assert.equal(foreign.isError, true)
    assert.match(textOf(foreign), /not from an allowed registry \(ghcr\.io\/cloudnative-pg\/\)/)
  })
})

describe('stdio', () => {
  let session: StdioSession
  before(async () => {
    session = await connectStdio({kubeconfig: harness().kubeconfigFor('admin')})
  })
  after(async () => {
    await session?.close()
  })

  test('container_image outside allowed_images is refused in stdio too; the official registry is fine', async () => {
    const foreign = await callTool(session.client, 'create_postgres_cluster', {name: 'img-db', namespace, container_image: 'registry.example.com/postgresql:16.4', dry_run: true})
    assert.equal(foreign.isError, true)
    assert.match(textOf(foreign), /--allowed-images/)
    const official = await callTool(session.client, 'create_postgres_cluster', {name: 'img-db', namespace, container_image: 'ghcr.io/cloudnative-pg/postgresql:16.4', dry_run: true})
    assert.ok(!official.isError, textOf(official))
  })

  test('stdio is not a shared server: the local user may set superuser', async () => {
    const result = await callTool(session.client, 'update_postgres_role', {cluster_name: 'db1', role_name: 'app', namespace, superuser: true, dry_run: true})
    assert.doesNotMatch(textOf(result), /administrator/)
  })
})
