// Scoped tokens over real OAuth: scope_groups in oidc.yaml decide what each user's session sees, and
// a call to a tool the scopes do not open answers 403 insufficient_scope naming the scope.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {connectHttp} from '../support/mcp.ts'
import {type AuthStack, obtainTokens, startAuthStack} from '../auth/helpers.ts'

describe('scoped tokens (HTTP with OAuth)', () => {
  let stack: AuthStack

  before(async () => {
    stack = await startAuthStack({extraConfig: {scope_groups: {'oidc:team-a': ['cnpg:read'], 'oidc:team-b': ['cnpg:write']}}})
  })
  after(async () => stack?.stop())

  test('a cnpg:read user sees only read tools; a write tool answers 403 insufficient_scope with the scope', async () => {
    stack.idp.signInAs('alice')
    const {access_token} = await obtainTokens(stack.publicUrl)
    const mcpUrl = `${stack.publicUrl}/mcp`
    const client = await connectHttp(mcpUrl, {authorization: `Bearer ${access_token}`})
    try {
      const {tools} = await client.listTools()
      assert.ok(tools.length > 5)
      for (const tool of tools) assert.equal(tool.annotations?.readOnlyHint, true, `${tool.name} is read-only`)
      const sessionId = (client.transport as {sessionId?: string} | undefined)?.sessionId
      assert.ok(sessionId, 'a session id')
      const response = await fetch(mcpUrl, {
        method: 'POST',
        headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${access_token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18'},
        body: JSON.stringify({jsonrpc: '2.0', id: 7, method: 'tools/call', params: {name: 'create_postgres_cluster', arguments: {name: 'x', instances: 1, storage_size: '1Gi'}}}),
      })
      assert.equal(response.status, 403)
      assert.match(response.headers.get('www-authenticate') ?? '', /error="insufficient_scope", scope="cnpg:write"/)
      assert.match(stack.replicas[0].stderr(), /"reason":"insufficient_scope"/)
    } finally {
      await client.close()
    }
  })

  test('a cnpg:write user sees mutating tools too (one server, two surfaces)', async () => {
    stack.idp.signInAs('bob')
    const {access_token} = await obtainTokens(stack.publicUrl)
    const client = await connectHttp(`${stack.publicUrl}/mcp`, {authorization: `Bearer ${access_token}`})
    try {
      const names = (await client.listTools()).tools.map((t) => t.name)
      assert.ok(names.includes('create_postgres_cluster') && names.includes('delete_postgres_cluster'))
      assert.ok(!names.some((n) => n.startsWith('admin_')), 'no admin tools without cnpg:admin')
    } finally {
      await client.close()
    }
  })
})
