// The real node end to end: kmcp's create_postgres_cluster tool creates a CNPG Cluster, the official
// operator runs real PostgreSQL in a pod on the kubelet, get_cluster_status reports it ready, and psql
// connects through the <name>-rw Service with the app user's password from the <name>-app Secret.
import {after, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {harness, kubeRequest, randomSuffix} from '../support/kube.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {NODE_SERVE_ARGS, createClusterArgsForNode, psql, skipUnlessRealNode, waitForHealthyCluster} from '../support/real-node.ts'

const NAMESPACE = 'e2e-misc'

describe('real node: a cluster created through kmcp runs real PostgreSQL', {timeout: 600_000}, () => {
  let session: StdioSession | undefined
  const name = `smoke-${randomSuffix(5)}`

  after(async () => {
    await session?.close()
    await kubeRequest('admin', 'DELETE', `/apis/postgresql.cnpg.io/v1/namespaces/${NAMESPACE}/clusters/${name}`).catch(() => {})
  })

  test('create_postgres_cluster -> healthy -> get_cluster_status "1/1 ready" -> psql select 1 through <name>-rw', {timeout: 600_000}, async (t) => {
    if (!skipUnlessRealNode(t)) return
    session = await connectStdio({kubeconfig: harness().kubeconfigFor('admin'), extraArgs: NODE_SERVE_ARGS})
    const created = await callTool(session.client, 'create_postgres_cluster', createClusterArgsForNode(name, NAMESPACE))
    assert.ok(!created.isError, textOf(created))
    assert.match(textOf(created), new RegExp(`Successfully created PostgreSQL cluster ${NAMESPACE}/${name}`))

    // Defaulted by the operator's own mutating webhook (the tool does not set it).
    const stored = await kubeRequest('admin', 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${NAMESPACE}/clusters/${name}`)
    assert.equal(stored.status, 200, stored.text)
    assert.ok(stored.body.spec.enableSuperuserAccess !== undefined || stored.body.spec.logLevel, 'the CNPG mutating webhook defaulted the spec')

    await waitForHealthyCluster(async () => (await kubeRequest('admin', 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${NAMESPACE}/clusters/${name}`)).body, 480_000)

    const status = await callTool(session.client, 'get_cluster_status', {name, namespace: NAMESPACE})
    assert.ok(!status.isError, textOf(status))
    assert.match(textOf(status), /1\/1 ready/)
    assert.match(textOf(status), /Status: Cluster in healthy state/)
    assert.match(textOf(status), new RegExp(`Current Primary: ${name}-1`))

    const secret = await kubeRequest('admin', 'GET', `/api/v1/namespaces/${NAMESPACE}/secrets/${name}-app`)
    assert.equal(secret.status, 200, secret.text)
    const field = (k: string) => Buffer.from(secret.body.data[k], 'base64').toString('utf8')
    // "Healthy" can come a moment before kube-proxy has the -rw Service's endpoint (until then it
    // refuses connections): retry briefly.
    const login = () => psql(NAMESPACE, 'select 1', {host: `${name}-rw`, user: field('username'), password: field('password'), database: 'app'})
    let result = await login()
    for (let i = 0; result.code !== 0 && i < 30; i++) {
      await new Promise((r) => setTimeout(r, 2000))
      result = await login()
    }
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout.trim(), '1')

    const wrong = await psql(NAMESPACE, 'select 1', {host: `${name}-rw`, user: field('username'), password: 'not-the-password', database: 'app'})
    assert.notEqual(wrong.code, 0, 'a wrong password is refused')
    assert.match(wrong.stderr, /password authentication failed/)
  })
})
