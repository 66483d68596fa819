// Proves the test harness is a real kube-apiserver with the real CNPG CRDs and RBAC: OpenAPI and
// CEL validation, RBAC decisions, server-side dry run, version, and clean process lifecycle.
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {describe, test} from 'node:test'
import YAML from 'yaml'
import {startHarness} from '../support/global-setup.ts'
import {bindRole, createNamespace, harness, kubeRequest, unbindRole, waitFor} from '../support/kube.ts'
import {clusterManifest, createInstancePodsAndPVCs, makeHealthyCluster, setDatabaseRoleStatus} from '../support/operator.ts'
import {realNode} from '../support/real-node.ts'

const CNPG = '/apis/postgresql.cnpg.io/v1'

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('validation by the real CRD schemas', () => {
  test('a Cluster with spec.instances "three" is rejected with 422', async () => {
    const ns = await createNamespace('harness-schema')
    const bad = clusterManifest(ns, 'bad', {spec: {instances: 'three'}})
    const res = await kubeRequest('admin', 'POST', `${CNPG}/namespaces/${ns}/clusters`, bad)
    if (realNode().available) {
      // CNPG's mutating webhook runs before the schema check and cannot decode the spec: 400.
      assert.equal(res.status, 400, res.text)
      assert.match(res.body.message, /mcluster\.cnpg\.io[\s\S]*spec\.instances of type int/)
      return
    }
    assert.equal(res.status, 422, res.text)
    assert.equal(res.body.reason, 'Invalid')
    assert.match(res.body.message, /spec\.instances/)
  })

  test('DatabaseRole CEL rules are enforced (reserved pg_ name, passwordSecret + disablePassword)', async () => {
    const ns = await createNamespace('harness-cel')
    const role = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'DatabaseRole',
      metadata: {name, namespace: ns},
      spec: {cluster: {name: 'db'}, ...spec},
    })
    const reserved = await kubeRequest('admin', 'POST', `${CNPG}/namespaces/${ns}/databaseroles`, role('reserved', {name: 'pg_foo'}))
    assert.equal(reserved.status, 422, reserved.text)
    assert.match(reserved.body.message, /starting with pg_ are reserved/)

    const both = await kubeRequest('admin', 'POST', `${CNPG}/namespaces/${ns}/databaseroles`, role('both', {name: 'app', passwordSecret: {name: 's'}, disablePassword: true}))
    assert.equal(both.status, 422, both.text)
    assert.match(both.body.message, /mutually exclusive/)

    const ok = await kubeRequest('admin', 'POST', `${CNPG}/namespaces/${ns}/databaseroles`, role('good', {name: 'app', login: true}))
    assert.equal(ok.status, 201, ok.text)
    const withStatus = await setDatabaseRoleStatus(ns, 'good', {applied: true, observedGeneration: 1})
    assert.equal(withStatus.status.applied, true)
  })
})

test('RBAC: alice needs the chart view role to list and the edit role to create', async () => {
  const ns = await createNamespace('harness-rbac')
  const clusters = `${CNPG}/namespaces/${ns}/clusters`
  assert.equal((await kubeRequest('alice', 'GET', clusters)).status, 403)

  await bindRole(ns, 'alice', 'cnpg-cloudnative-pg-view')
  await waitFor(async () => (await kubeRequest('alice', 'GET', clusters)).status === 200, {message: 'alice still cannot list clusters'})
  const create = () => kubeRequest('alice', 'POST', clusters, clusterManifest(ns, 'alices-db', {instances: 1}))
  assert.equal((await create()).status, 403)
  // bob is in the same group but has no binding of his own
  assert.equal((await kubeRequest('bob', 'GET', clusters)).status, 403)
  assert.equal((await kubeRequest('nobody', 'GET', clusters)).status, 403)

  await bindRole(ns, 'alice', 'cnpg-cloudnative-pg-edit')
  const created = await waitFor(async () => {
    const r = await create()
    return r.status === 201 ? r : undefined
  })
  assert.equal(created.body.metadata.name, 'alices-db')

  await unbindRole(ns, 'alice', 'cnpg-cloudnative-pg-view')
  await waitFor(async () => (await kubeRequest('alice', 'GET', clusters)).status === 403, {message: 'alice can still list clusters'})
})

test('unauthenticated requests are refused (anonymous auth is off)', async () => {
  const res = await kubeRequest({token: 'not-a-token'}, 'GET', '/api/v1/namespaces')
  assert.equal(res.status, 401)
})

test('server-side dry run returns the object and stores nothing', async () => {
  const ns = await createNamespace('harness-dryrun')
  const res = await kubeRequest('admin', 'POST', `${CNPG}/namespaces/${ns}/clusters`, clusterManifest(ns, 'ghost', {instances: 2}), {dryRun: true})
  assert.equal(res.status, 201, res.text)
  assert.equal(res.body.kind, 'Cluster')
  assert.equal(res.body.metadata.name, 'ghost')
  assert.equal(res.body.spec.instances, 2)
  assert.equal((await kubeRequest('admin', 'GET', `${CNPG}/namespaces/${ns}/clusters/ghost`)).status, 404)
})

test('server-side apply and merge patch work', async () => {
  const ns = await createNamespace('harness-apply')
  const path = `${CNPG}/namespaces/${ns}/clusters/applied`
  const applied = await kubeRequest('admin', 'PATCH', path, clusterManifest(ns, 'applied', {instances: 1}), {contentType: 'application/apply-patch+yaml', fieldManager: 'kmcp-test', force: true})
  assert.equal(applied.status, 201, applied.text)
  const patched = await kubeRequest('admin', 'PATCH', path, {spec: {instances: 2}}, {contentType: 'application/merge-patch+json'})
  assert.equal(patched.status, 200, patched.text)
  assert.equal(patched.body.spec.instances, 2)
})

test('/version reports v1.36.3', async () => {
  const res = await kubeRequest('admin', 'GET', '/version')
  assert.equal(res.status, 200)
  assert.equal(res.body.gitVersion, 'v1.36.3')
  assert.equal(res.body.major, '1')
  assert.equal(res.body.minor, '36')
})

test('per-user kubeconfigs select that user', () => {
  const h = harness()
  for (const user of ['admin', 'alice', 'bob', 'nobody'] as const) {
    const config = YAML.parse(readFileSync(h.kubeconfigFor(user), 'utf8'))
    assert.equal(config['current-context'], user)
    assert.equal(config.users.find((u: any) => u.name === user).user.token, h.tokens[user])
  }
  assert.equal(YAML.parse(readFileSync(h.kubeconfigPath, 'utf8'))['current-context'], 'admin')
})

test('playing the operator: healthy cluster status, pods and PVCs', async () => {
  const ns = await createNamespace('harness-operator')
  const cluster = await makeHealthyCluster(ns, 'pg', {instances: 3, withPods: true})
  assert.equal(cluster.status.phase, 'Cluster in healthy state')
  assert.equal(cluster.status.readyInstances, 3)
  assert.equal(cluster.status.currentPrimary, 'pg-1')
  assert.deepEqual(cluster.status.instancesStatus.healthy, ['pg-1', 'pg-2', 'pg-3'])
  const pods = await kubeRequest('admin', 'GET', `/api/v1/namespaces/${ns}/pods`, undefined, {query: {labelSelector: 'cnpg.io/cluster=pg,role=primary'}})
  assert.deepEqual(pods.body.items.map((p: any) => p.metadata.name), ['pg-1'])
  assert.equal(pods.body.items[0].status.phase, 'Pending')
  const pvcs = await kubeRequest('admin', 'GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, undefined, {query: {labelSelector: 'cnpg.io/pvcRole=PG_DATA'}})
  assert.equal(pvcs.body.items.length, 3)
  await assert.rejects(createInstancePodsAndPVCs(ns, 'pg', ['pg-1']), /AlreadyExists|already exists/)
})

test('namespace deletion completes (embedded namespace controller)', async () => {
  const ns = await createNamespace('harness-nsdel')
  await makeHealthyCluster(ns, 'doomed', {instances: 1})
  assert.equal((await kubeRequest('admin', 'DELETE', `/api/v1/namespaces/${ns}`)).status, 200)
  await waitFor(async () => (await kubeRequest('admin', 'GET', `/api/v1/namespaces/${ns}`)).status === 404, {timeoutMs: 60_000, message: `namespace ${ns} still Terminating`})
})

describe('process lifecycle of a second harness', {timeout: 240_000}, () => {
  test('SIGTERM stops it: no process left and its temp dir removed', async () => {
    const h = await startHarness()
    try {
      assert.ok(existsSync(h.dataDir), 'data dir exists while running')
      assert.notEqual(h.server, harness().server, 'a different apiserver than the shared one')
      const version = await fetchVersion(h)
      assert.equal(version.gitVersion, 'v1.36.3')
    } finally {
      const result = await h.stop()
      assert.equal(result.killed, false, 'stopped on SIGTERM without SIGKILL')
      assert.equal(result.code, 0)
    }
    assert.equal(pidAlive(h.pid), false, `pid ${h.pid} still running`)
    assert.equal(existsSync(h.dataDir), false, `${h.dataDir} left behind`)
  })

  test('closing its stdin makes it exit and clean up', async () => {
    const h = await startHarness()
    try {
      h.child.stdin!.end()
      await waitFor(() => !pidAlive(h.pid) || h.child.exitCode !== null, {timeoutMs: 30_000, message: 'harness still running after stdin closed'})
      await waitFor(() => h.child.exitCode !== null, {timeoutMs: 5_000})
      assert.equal(h.child.exitCode, 0)
      assert.equal(existsSync(h.dataDir), false, `${h.dataDir} left behind`)
      assert.match(h.stderr(), /stopping \(stdin closed\)/)
    } finally {
      await h.stop()
    }
  })

  test('a port already in use fails fast with one clear line', async () => {
    const port = Number(new URL(harness().server).port)
    await assert.rejects(startHarness({args: [`--port=${port}`]}), (error: Error) => {
      assert.match(error.message, /cannot listen on 127\.0\.0\.1:\d+ \(port in use\?\)/)
      return true
    })
  })
})

async function fetchVersion(h: {kubeconfigPath: string; server: string}): Promise<any> {
  const {rawRequest} = await import('../support/kube.ts')
  const config = YAML.parse(readFileSync(h.kubeconfigPath, 'utf8'))
  const token = config.users.find((u: any) => u.name === 'admin').user.token
  const res = await rawRequest({server: h.server, ca: readFileSync(config.clusters[0].cluster['certificate-authority']), token}, 'GET', '/version')
  return res.body
}
