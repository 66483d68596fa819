// A shared HTTP server that does not impersonate reads Secrets with its own service account, so
// get_connection_info hands out passwords only to administrators (admin_groups) there.
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'
import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {createObject, deleteNamespace} from '../support/kube.ts'
import {callTool, connectHttp, textOf} from '../support/mcp.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {cnpgNamespace, obtainTokens, startAuthStack, type AuthStack} from './helpers.ts'

const PASSWORD = 'correct-horse-battery-staple-42'
let stack: AuthStack
let namespace: string
const clients: Client[] = []

before(async () => {
  namespace = await cnpgNamespace('conn-pw')
  await makeHealthyCluster(namespace, 'shop-db', {instances: 1})
  await createObject({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {name: 'shop-db-app', namespace},
    type: 'kubernetes.io/basic-auth',
    stringData: {username: 'app', password: PASSWORD},
  })
  stack = await startAuthStack({extraConfig: {admin_groups: ['oidc:team-a']}})
})

after(async () => {
  for (const client of clients) await client.close().catch(() => undefined)
  await stack?.stop()
  if (namespace) await deleteNamespace(namespace)
})

async function connectAs(user: 'alice' | 'bob'): Promise<Client> {
  stack.idp.signInAs(user)
  const tokens = await obtainTokens(stack.publicUrl)
  const client = await connectHttp(`${stack.publicUrl}/mcp`, {authorization: `Bearer ${tokens.access_token}`})
  clients.push(client)
  return client
}

test('an administrator gets the password; another user gets the way to read it with their own rights', async () => {
  const alice = await connectAs('alice') // team-a: administrator
  const granted = await callTool(alice, 'get_connection_info', {cluster_name: 'shop-db', namespace, include_password: true})
  assert.ok(!granted.isError, textOf(granted))
  assert.equal((granted.structuredContent as {password?: string}).password, PASSWORD)

  const bob = await connectAs('bob')
  const refused = await callTool(bob, 'get_connection_info', {cluster_name: 'shop-db', namespace, include_password: true})
  assert.ok(!refused.isError, textOf(refused))
  const structured = refused.structuredContent as {password?: string; password_unavailable?: string; read_password_command?: string}
  assert.equal(structured.password, undefined)
  assert.match(structured.password_unavailable ?? '', /only to administrators/)
  assert.match(structured.read_password_command ?? '', /kubectl .*shop-db-app/)
  assert.ok(!textOf(refused).includes(PASSWORD))
  assert.ok(!stack.replicas[0].stderr().includes(PASSWORD), 'the password never reaches the logs')
})
