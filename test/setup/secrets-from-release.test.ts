// `kmcp secrets create --from-release`: a Python-reference release's keys (kebab-case keys in its
// Secrets) become the kmcp release's, so tokens and stored sessions survive the move.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {createNamespace, expectStatus, harness, kubeRequest} from '../support/kube.ts'
import {run} from './run.ts'

const JWT_KEY = 'c'.repeat(64)
const FERNET_KEY = Buffer.alloc(32, 9).toString('base64url') + '='
const b64 = (text: string) => Buffer.from(text).toString('base64')

async function secretData(namespace: string, name: string): Promise<Record<string, string>> {
  const response = expectStatus(`read ${name}`, await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/secrets/${name}`), 200)
  return Object.fromEntries(Object.entries((response.body as {data: Record<string, string>}).data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))
}

test("--from-release copies the reference release's client secret, signing key and storage key", async () => {
  const namespace = await createNamespace('from-release')
  const admin = harness().kubeconfigFor('admin')
  // The reference's layout: the client secret in <release>-auth0-credentials, the keys in another Secret of the release.
  for (const [name, data] of [
    ['cnpg-mcp-auth0-credentials', {'server-client-secret': b64('reference-client-secret')}],
    ['cnpg-mcp-keys', {'jwt-signing-key': b64(JWT_KEY), 'storage-encryption-key': b64(FERNET_KEY)}],
    ['other-release-keys', {'jwt-signing-key': b64('d'.repeat(64))}],
  ] as const) {
    expectStatus(`create ${name}`, await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/secrets`, {apiVersion: 'v1', kind: 'Secret', metadata: {name}, type: 'Opaque', data}), 201)
  }
  const result = await run(['secrets', 'create', '--kubeconfig', admin, '-n', namespace, '--release', 'kmcp', '--from-release', 'cnpg-mcp', '--yes', '--json'])
  assert.equal(result.code, 0, result.stderr)
  assert.ok(!(result.stdout + result.stderr).includes('reference-client-secret'), 'no value printed')
  assert.deepEqual(await secretData(namespace, 'kmcp-oidc-client'), {client_secret: 'reference-client-secret'})
  assert.deepEqual(await secretData(namespace, 'kmcp-keys'), {jwt_signing_key: JWT_KEY, storage_encryption_key: FERNET_KEY})

  const missing = await run(['secrets', 'create', '--kubeconfig', admin, '-n', namespace, '--release', 'kmcp2', '--from-release', 'no-such-release', '--yes'])
  assert.notEqual(missing.code, 0)
  assert.match(missing.stderr.replace(/\s*\n ›\s*/g, ' '), /no Secret named no-such-release-… in namespace \S+ holds server-client-secret, jwt-signing-key, storage-encryption-key/)
})
