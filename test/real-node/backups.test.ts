// Backups on the real operator. The node has no object store and no CSI snapshots, and the local
// PostgreSQL image carries no barman-cloud tools, so no backup can succeed here. What is tested is
// the honest refusal path through kmcp: methods the cluster is not set up for are refused before
// any object is made; a backup the operator does run against an unreachable object store ends
// "failed" with the operator's error, which kmcp reports; and a restore from it is refused.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {kubeRequest} from '../support/kube.ts'
import {callTool, textOf, type StdioSession} from '../support/mcp.ts'
import {clusterPath, connectAdmin, createArgsForNode, deleteClusters, getJson, ok, realNodeUnavailable, skipWithoutNode, timer, untilStatus, waitUntil} from './helpers.ts'

const NS = 'e2e-backups'
const NAME = 'bk'

describe('backups and restore on the real operator (no object store on the node)', () => {
  let admin: StdioSession | undefined
  const backups = async () => (await getJson(`/apis/postgresql.cnpg.io/v1/namespaces/${NS}/backups`))?.items ?? []

  before(async () => {
    if ((await realNodeUnavailable()) === undefined) admin = await connectAdmin()
  })
  after(async () => {
    if (admin) await deleteClusters(NS)
    await admin?.close()
  })

  test('create_backup refuses the methods the cluster is not configured for; nothing is created', async (t) => {
    if (!(await skipWithoutNode(t))) return
    await ok(admin!, 'create_postgres_cluster', {...(await createArgsForNode(NAME, NS, 1)), wait: true, timeout: 240})
    await untilStatus(admin!, NS, NAME, /Instances: 1\/1 ready/)
    for (const [method, message] of [
      ['barmanObjectStore', /has no object store configured \(spec\.backup\.barmanObjectStore\)/],
      ['volumeSnapshot', /has no volume snapshot configuration/],
    ] as const) {
      const refused = await callTool(admin!.client, 'create_backup', {cluster: NAME, namespace: NS, method})
      assert.equal(refused.isError, true, textOf(refused))
      assert.match(textOf(refused), message)
    }
    assert.equal((await backups()).length, 0)
  })

  test('a backup to an unreachable object store fails in the operator; kmcp reports the failure and refuses to restore from it', async (t) => {
    if (!(await skipWithoutNode(t))) return
    // Set-up outside kmcp (it has no tool to configure backups): an object store on a loopback
    // port nothing listens on, with credentials, on the cluster.
    const secret = await kubeRequest('admin', 'POST', `/api/v1/namespaces/${NS}/secrets`, {apiVersion: 'v1', kind: 'Secret', metadata: {name: 'bk-s3'}, stringData: {ACCESS_KEY_ID: 'e2e', ACCESS_SECRET_KEY: 'e2e-secret'}})
    assert.ok([201, 409].includes(secret.status), secret.text)
    const patched = await kubeRequest('admin', 'PATCH', clusterPath(NS, NAME), {spec: {backup: {barmanObjectStore: {destinationPath: 's3://kmcp-e2e/', endpointURL: 'http://127.0.0.1:9', s3Credentials: {accessKeyId: {name: 'bk-s3', key: 'ACCESS_KEY_ID'}, secretAccessKey: {name: 'bk-s3', key: 'ACCESS_SECRET_KEY'}}}}}}, {contentType: 'application/merge-patch+json'})
    assert.equal(patched.status, 200, patched.text)

    const took = timer('backup to an unreachable object store until it is reported failed')
    const created = textOf(await ok(admin!, 'create_backup', {cluster: NAME, name: 'bk-now', namespace: NS}))
    assert.match(created, /Successfully requested backup e2e-backups\/bk-now/)
    let listed = ''
    await waitUntil(async () => {
      listed = textOf(await ok(admin!, 'list_backups', {namespace: NS}))
      return /bk-now[^\n]*: (failed|walArchivingFailing)/.test(listed)
    }, 180_000, 'the backup to be reported failed')
    took()
    const details = textOf(await ok(admin!, 'get_backup', {name: 'bk-now', namespace: NS}))
    const stored = await getJson(`/apis/postgresql.cnpg.io/v1/namespaces/${NS}/backups/bk-now`)
    assert.ok(stored.status?.error || stored.status?.phase === 'walArchivingFailing', `the operator explains the failure: ${JSON.stringify(stored.status)}`)
    if (stored.status?.error) assert.ok(details.includes(stored.status.error.slice(0, 40)), `get_backup shows the operator's error:\n${details}`)

    const restore = await callTool(admin!.client, 'restore_postgres_cluster', {name: 'bk-restored', backup_name: 'bk-now', namespace: NS})
    assert.equal(restore.isError, true, textOf(restore))
    assert.match(textOf(restore), /not "completed", so it cannot be restored/)
    assert.equal(await getJson(clusterPath(NS, 'bk-restored')), undefined)
  })
})
