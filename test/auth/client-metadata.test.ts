// Client ID Metadata Documents: a client identified by an https URL instead of a registration,
// allowed only for hosts the operator lists. The documents are served over real TLS on loopback
// (a self-signed certificate kmcp trusts through NODE_EXTRA_CA_CERTS).
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, test} from 'node:test'
import {deleteNamespace} from '../support/kube.ts'
import {callTool, textOf} from '../support/mcp.ts'
import {MemoryOAuthClient, authorizeUrl, cnpgNamespace, pkcePair, signInAndConnect, startAuthStack, type AuthStack} from './helpers.ts'

const REDIRECT = 'http://127.0.0.1:53682/callback'
let stack: AuthStack
let documents: Server
let documentsOrigin: string
let namespace: string

before(async () => {
  namespace = await cnpgNamespace('auth-cimd')
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-cimd-'))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], {stdio: 'ignore'})
  documents = createServer({key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem'))}, (req, res) => {
    const self = `${documentsOrigin}${req.url}`
    const bodies: Record<string, unknown> = {
      '/clients/good.json': {client_id: self, client_name: 'Metadata document client', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none'},
      '/clients/liar.json': {client_id: `${documentsOrigin}/clients/good.json`, redirect_uris: [REDIRECT]},
      '/clients/secret.json': {client_id: self, redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic'},
      '/clients/evil-redirect.json': {client_id: self, redirect_uris: ['http://evil.example/callback']},
    }
    if (req.url === '/clients/moved.json') {
      res.writeHead(302, {location: '/clients/good.json'})
      res.end()
      return
    }
    const body = bodies[req.url ?? '']
    res.writeHead(body ? 200 : 404, {'content-type': 'application/json', 'cache-control': 'max-age=60'})
    res.end(JSON.stringify(body ?? {error: 'not found'}))
  })
  await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve))
  documentsOrigin = `https://127.0.0.1:${(documents.address() as AddressInfo).port}`
  stack = await startAuthStack({extraConfig: {cimd_allowed_hosts: ['127.0.0.1']}, env: {NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem')}})
})

after(async () => {
  await stack?.stop()
  documents?.closeAllConnections()
  await new Promise<void>((resolve) => (documents ? documents.close(() => resolve()) : resolve()))
  if (namespace) await deleteNamespace(namespace)
})

test('the SDK client signs in with a client ID metadata document and no registration', async () => {
  const metadata = (await (await fetch(`${stack.publicUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
  assert.equal(metadata.client_id_metadata_document_supported, true)
  const provider = new MemoryOAuthClient(REDIRECT, `${documentsOrigin}/clients/good.json`)
  const client = await signInAndConnect(stack.replicas[0].url, provider)
  assert.equal(provider.clientInformation()?.client_id, `${documentsOrigin}/clients/good.json`)
  const result = await callTool(client, 'list_postgres_clusters', {namespace})
  assert.ok(!result.isError, textOf(result))
  assert.deepEqual(await stack.redis.keys('mcp:oauth:client:*'), [], 'nothing was registered')
  await client.close()
})

test('documents that lie, redirect, want a secret, name foreign redirects, or live on an unlisted host are refused', async () => {
  const attempts = [
    `${documentsOrigin}/clients/liar.json`,
    `${documentsOrigin}/clients/moved.json`,
    `${documentsOrigin}/clients/secret.json`,
    `${documentsOrigin}/clients/evil-redirect.json`,
    `${documentsOrigin}/clients/missing.json`,
    `${documentsOrigin.replace('127.0.0.1', 'localhost')}/clients/good.json`,
    `${documentsOrigin.replace('https:', 'http:')}/clients/good.json`,
  ]
  for (const clientId of attempts) {
    const response = await fetch(authorizeUrl(stack.publicUrl, {response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, code_challenge: pkcePair().challenge, code_challenge_method: 'S256'}), {redirect: 'manual'})
    assert.equal(response.status, 400, clientId)
    assert.equal(response.headers.get('location'), null, clientId)
  }
})
