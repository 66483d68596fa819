// kmcp serve on loopback with OAuth but no Redis: the in-memory store (development only).
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'
import {initializeWith, obtainTokens, postForm, startAuthStack, type AuthStack} from './helpers.ts'

let stack: AuthStack

before(async () => {
  stack = await startAuthStack({withoutRedis: true})
})

after(async () => {
  await stack?.stop()
})

test('sign-in, token use and refresh work with the in-memory store, which says what it is', async () => {
  const kmcp = stack.replicas[0]
  assert.match(kmcp.stderr(), /no Redis configured: OAuth clients and tokens are kept in memory/)
  const tokens = await obtainTokens(stack.publicUrl)
  assert.equal((await initializeWith(kmcp.url, `Bearer ${tokens.access_token}`)).status, 200)
  const refreshed = await postForm(`${stack.publicUrl}/token`, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: tokens.clientId})
  assert.equal(refreshed.status, 200)
  assert.deepEqual(await stack.redis.keys(), [], 'nothing went to Redis')
  const ready = (await (await fetch(`${stack.publicUrl}/readyz`)).json()) as {checks: Array<{name: string}>}
  assert.ok(ready.checks.some((c) => c.name === 'token-storage'))
})
