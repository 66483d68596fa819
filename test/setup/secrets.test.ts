// `kmcp secrets create` against the real API server (test harness), as a real process.
import {before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createNamespace, harness, kubeRequest} from '../support/kube.ts'
import {run, runInTerminal} from './run.ts'

const JWT_KEY = 'a'.repeat(64)
const FERNET_KEY = Buffer.alloc(32, 7).toString('base64url') + '='

// `any`: a Secret or Status body straight from the API server, read field by field by the assertions.
async function secret(namespace: string, name: string): Promise<{status: number; body: any}> {
  return kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/secrets/${name}`)
}

// `any`: see secret().
function data(body: any, key: string): string | undefined {
  const raw = body?.data?.[key]
  return raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8')
}

describe('kmcp secrets create', () => {
  let admin: string

  before(() => {
    admin = harness().kubeconfigFor('admin')
  })

  test('creates both Secrets with the chart names, labels, type and well-formed keys; prints no value; a second run changes nothing', async () => {
    const namespace = await createNamespace('secrets')
    const first = await run(['secrets', 'create', '--kubeconfig', admin, '-n', namespace, '--release', 'rel', '--client-secret-file', '-', '--yes'], {input: 'upstream-secret-value\n'})
    assert.equal(first.code, 0, first.stderr)

    const client = await secret(namespace, 'rel-oidc-client')
    assert.equal(client.status, 200)
    assert.equal(client.body.type, 'Opaque')
    assert.equal(data(client.body, 'client_secret'), 'upstream-secret-value')
    assert.equal(client.body.metadata.labels['app.kubernetes.io/instance'], 'rel')
    assert.equal(client.body.metadata.labels['app.kubernetes.io/managed-by'], 'kmcp')
    assert.equal(client.body.metadata.labels['app.kubernetes.io/component'], 'oidc-client')

    const keys = await secret(namespace, 'rel-keys')
    assert.equal(keys.status, 200)
    assert.equal(keys.body.type, 'Opaque')
    const jwt = data(keys.body, 'jwt_signing_key')!
    const storage = data(keys.body, 'storage_encryption_key')!
    assert.match(jwt, /^[0-9a-f]{64}$/)
    assert.match(storage, /^[A-Za-z0-9_-]{43}=$/)
    assert.equal(Buffer.from(storage, 'base64url').length, 32)
    assert.equal(keys.body.data.previous_storage_encryption_keys, undefined)
    for (const value of [jwt, storage, 'upstream-secret-value']) {
      assert.ok(!first.stdout.includes(value) && !first.stderr.includes(value), 'no secret value is printed')
    }

    const second = await run(['secrets', 'create', '--kubeconfig', admin, '-n', namespace, '--release', 'rel', '--json'])
    assert.equal(second.code, 0, second.stderr)
    const report = JSON.parse(second.stdout)
    assert.equal(report.changed, false)
    assert.deepEqual(report.changes.map((c: {outcome: string}) => c.outcome), ['unchanged', 'unchanged'])
    assert.equal((await secret(namespace, 'rel-keys')).body.metadata.resourceVersion, keys.body.metadata.resourceVersion)
  })

  test('refuses to overwrite a key without --rotate; --rotate keeps the old storage key in the key ring', async () => {
    const namespace = await createNamespace('secrets-rotate')
    const args = ['secrets', 'create', '--kubeconfig', admin, '-n', namespace, '--skip-client-secret', '--yes']
    assert.equal((await run([...args, '--jwt-signing-key', JWT_KEY, '--storage-encryption-key', FERNET_KEY])).code, 0)

    const refused = await run([...args, '--jwt-signing-key', 'b'.repeat(64)])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /already holds a jwt_signing_key; kmcp does not overwrite it.*--rotate/s)
    assert.equal(data((await secret(namespace, 'kmcp-keys')).body, 'jwt_signing_key'), JWT_KEY)

    const rotated = await run([...args, '--rotate'])
    assert.equal(rotated.code, 0, rotated.stderr)
    assert.match(rotated.stdout, /updated\s+Secret\s+\S+\s+kmcp-keys\s+rotated jwt_signing_key, storage_encryption_key, previous_storage_encryption_keys/)
    const after = (await secret(namespace, 'kmcp-keys')).body
    assert.notEqual(data(after, 'jwt_signing_key'), JWT_KEY)
    assert.notEqual(data(after, 'storage_encryption_key'), FERNET_KEY)
    assert.equal(data(after, 'previous_storage_encryption_keys'), FERNET_KEY)

    const again = await run([...args, '--rotate'])
    assert.equal(again.code, 0, again.stderr)
    const ring = data((await secret(namespace, 'kmcp-keys')).body, 'previous_storage_encryption_keys')!.split('\n')
    assert.deepEqual(ring, [data(after, 'storage_encryption_key'), FERNET_KEY], 'newest first')
  })

  test('--out-dir writes the values to 0600 files equal to the Secrets; --dry-run stores nothing', async () => {
    const namespace = await createNamespace('secrets-files')
    const dir = join(mkdtempSync(join(tmpdir(), 'kmcp-secrets-')), 'out')
    const dry = await run(['secrets', 'create', '--kubeconfig', admin, '-n', namespace, '--client-secret', 'cs', '--out-dir', dir, '--dry-run'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /would create\s+Secret\s+\S+\s+kmcp-oidc-client/)
    assert.match(dry.stdout, /Dry run: nothing was stored/)
    assert.equal((await secret(namespace, 'kmcp-oidc-client')).status, 404)
    assert.equal((await secret(namespace, 'kmcp-keys')).status, 404)

    const real = await run(['secrets', 'create', '--kubeconfig', admin, '-n', namespace, '--client-secret', 'cs', '--out-dir', dir, '--yes'])
    assert.equal(real.code, 0, real.stderr)
    const keys = (await secret(namespace, 'kmcp-keys')).body
    for (const [file, expected] of [['client_secret', 'cs'], ['jwt_signing_key', data(keys, 'jwt_signing_key')], ['storage_encryption_key', data(keys, 'storage_encryption_key')]]) {
      assert.equal(readFileSync(join(dir, file!), 'utf8'), expected)
      assert.equal(statSync(join(dir, file!)).mode & 0o777, 0o600)
    }
    assert.equal(statSync(dir).mode & 0o777, 0o700)
  })

  test('interactive: asks for the client secret (masked) and for confirmation in a terminal', async () => {
    const namespace = await createNamespace('secrets-tty')
    const session = runInTerminal(['secrets', 'create', '--kubeconfig', admin, '-n', namespace])
    await session.waitFor(/Upstream OAuth client secret/)
    session.type('typed-in-secret\r')
    await session.waitFor(/Write Secrets in namespace [\s\S]*create kmcp-oidc-client;\s+create\s+kmcp-keys\?/)
    session.type('y\r')
    const code = await session.exited
    assert.equal(code, 0, session.output())
    assert.ok(!session.output().includes('typed-in-secret'), 'the typed secret is masked')
    assert.equal(data((await secret(namespace, 'kmcp-oidc-client')).body, 'client_secret'), 'typed-in-secret')

    const declined = runInTerminal(['secrets', 'create', '--kubeconfig', admin, '-n', namespace, '--rotate'])
    await declined.waitFor(/Rotate Secrets in namespace/)
    declined.type('n\r')
    assert.equal(await declined.exited, 1)
    assert.match(declined.output(), /Cancelled: nothing was changed/)
  })

  test('bad input: malformed key, unknown namespace, no right to create Secrets, missing client secret without a terminal', async () => {
    const namespace = await createNamespace('secrets-bad')
    const malformed = await run(['secrets', 'create', '--kubeconfig', admin, '-n', namespace, '--skip-client-secret', '--storage-encryption-key', 'not-a-key', '--yes'])
    assert.equal(malformed.code, 2)
    assert.match(malformed.stderr, /--storage-encryption-key must be a Fernet key/)
    assert.ok(!malformed.stderr.includes('not-a-key'), 'the key is not echoed')
    const badJwt = await run(['secrets', 'create', '--kubeconfig', admin, '-n', namespace, '--skip-client-secret', '--jwt-signing-key', 'xyz', '--yes'])
    assert.equal(badJwt.code, 2)
    assert.match(badJwt.stderr, /--jwt-signing-key must be 64 hexadecimal characters/)
    assert.equal((await secret(namespace, 'kmcp-keys')).status, 404)

    const unknown = await run(['secrets', 'create', '--kubeconfig', admin, '-n', 'no-such-namespace-x', '--skip-client-secret', '--yes'])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /Namespace "no-such-namespace-x" does not exist/)

    const alice = await run(['secrets', 'create', '--kubeconfig', harness().kubeconfigFor('alice'), '-n', namespace, '--skip-client-secret', '--yes'])
    assert.equal(alice.code, 1)
    assert.match(alice.stderr, /403 Forbidden while reading Secret/)
    assert.match(alice.stderr, /Run the command with a cluster-admin kubeconfig/)
    assert.match(alice.stderr, /Nothing was changed before the failure/)

    const noSecret = await run(['secrets', 'create', '--kubeconfig', admin, '-n', namespace, '--yes'])
    assert.equal(noSecret.code, 2)
    assert.match(noSecret.stderr, /pass --client-secret-file \(or --skip-client-secret\)/)
    assert.equal((await secret(namespace, 'kmcp-keys')).status, 404, 'nothing half-made')
  })
})
