// Over authenticated HTTP the prompt admin tools exist only for administrators (admin_groups);
// every caller still gets the prompts themselves.
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'
import {harness} from '../support/kube.ts'
import {callTool, connectHttp, startHttpServer, type HttpServerProcess} from '../support/mcp.ts'
import {startIdentityProvider, type TestIdentityProvider} from '../support/oidc.ts'
import {freePort, startRedis, type TestRedis} from '../support/redis.ts'
import {obtainTokens, writeAuthConfig} from '../auth/helpers.ts'

let redis: TestRedis
let idp: TestIdentityProvider
let kmcp: HttpServerProcess
let publicUrl: string

before(async () => {
  const port = await freePort()
  publicUrl = `http://127.0.0.1:${port}`
  redis = await startRedis()
  idp = await startIdentityProvider({kmcpCallbacks: [`${publicUrl}/auth/callback`]})
  const files = writeAuthConfig({idp, publicUrl, redisUrl: redis.url, authType: 'oidc', extra: {audience: undefined, admin_groups: ['oidc:team-a']}})
  kmcp = await startHttpServer({kubeconfig: harness().kubeconfigPath, port, extraArgs: ['--oidc-config', files.configPath]})
})

after(async () => {
  await kmcp?.stop()
  await idp?.close()
  await redis?.stop()
})

async function sessionAs(user: 'alice' | 'bob') {
  idp.signInAs(user)
  const tokens = await obtainTokens(publicUrl)
  return connectHttp(`${publicUrl}/mcp`, {authorization: `Bearer ${tokens.access_token}`})
}

test('admin tools are listed and work for an admin-group member only', async () => {
  const admin = await sessionAs('alice')
  const user = await sessionAs('bob')
  try {
    const adminTools = (await admin.listTools()).tools.map((t) => t.name)
    const userTools = (await user.listTools()).tools.map((t) => t.name)
    assert.ok(adminTools.includes('admin_reload_prompts') && adminTools.includes('admin_get_prompt_manifest'))
    assert.ok(!userTools.includes('admin_reload_prompts') && !userTools.includes('admin_get_prompt_manifest'))
    assert.ok(userTools.includes('list_postgres_roles'))
    const refused = await callTool(user, 'admin_reload_prompts', {})
    assert.equal(refused.isError, true)
    const manifest = await callTool(admin, 'admin_get_prompt_manifest', {})
    assert.equal(manifest.isError, undefined)
    assert.ok((await user.listPrompts()).prompts.some((p) => p.name === 'diagnose-unhealthy-cluster'))
  } finally {
    await admin.close()
    await user.close()
  }
})
