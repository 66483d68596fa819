// PgBouncer Poolers on the real operator, through kmcp's tools: a Pooler created with create_pooler
// reaches ready on the node (the local PgBouncer image of scripts/node/pgbouncer-image.mjs, which the
// operator runs through its PGBOUNCER_IMAGE_NAME setting), psql reaches PostgreSQL THROUGH the
// pooler's Service, scale_pooler adds a pod, pause_pooler makes a query wait (PgBouncer PAUSE) until
// resume_pooler, and delete_pooler removes the pods.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {textOf, type StdioSession} from '../support/mcp.ts'
import {realNode} from '../support/real-node.ts'
import {appConnection, connectAdmin, createArgsForNode, deleteClusters, getJson, ok, realNodeUnavailable, skipWithoutNode, sql, sqlEventually, sqlOk, timer, untilStatus, waitUntil, type PsqlTarget} from './helpers.ts'

const NS = 'e2e-poolers'
const CLUSTER = 'pool'
const POOLER = 'pool-pooler-rw'

interface PoolerState {
  ready_pods?: number
  instances: number
  paused: boolean
  pods?: Array<{name: string; ready: boolean}>
}

describe('PgBouncer poolers on the real operator', () => {
  let admin: StdioSession | undefined
  let app: PsqlTarget
  /** The application's connection through the pooler's Service instead of the cluster's -rw one. */
  let pooled: PsqlTarget
  /** Set once the first test saw the pooler ready: the others need it. */
  let poolerReady = false

  const pooler = async () => (await ok(admin!, 'get_pooler', {name: POOLER, namespace: NS, format: 'json'})).structuredContent as unknown as PoolerState
  /** Waits until get_pooler reports `pods` ready PgBouncer pods; fails with its last answer. */
  async function untilReadyPods(pods: number, timeoutMs: number): Promise<void> {
    let last: PoolerState | undefined
    try {
      await waitUntil(async () => {
        last = await pooler()
        return last.ready_pods === pods && (last.pods ?? []).length === pods
      }, timeoutMs, `${pods} ready PgBouncer pod(s) of ${POOLER}`)
    } catch (error) {
      const deployment = await getJson(`/apis/apps/v1/namespaces/${NS}/deployments/${POOLER}`)
      throw new Error(`${(error as Error).message}; last get_pooler: ${JSON.stringify(last)}; deployment status: ${JSON.stringify(deployment?.status)}`, {cause: error})
    }
  }

  before(async () => {
    if ((await realNodeUnavailable()) === undefined) admin = await connectAdmin()
  })
  after(async () => {
    if (admin) {
      await ok(admin, 'delete_pooler', {name: POOLER, namespace: NS, confirm_deletion: true}).catch(() => {})
      await deleteClusters(NS)
    }
    await admin?.close()
  })

  test('a cluster, and a pooler in front of it that reaches ready', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const node = realNode()
    if (node.available && !node.pgbouncerImage) return t.skip('this node was started without a PgBouncer image (an older scripts/node/runtime.mjs)')
    await ok(admin!, 'create_postgres_cluster', {...(await createArgsForNode(CLUSTER, NS, 1)), wait: true, timeout: 240})
    await untilStatus(admin!, NS, CLUSTER, /Instances: 1\/1 ready/)
    app = await appConnection(admin!, NS, CLUSTER)
    await sqlEventually(NS, 'create table if not exists visits (id int)', app)
    const took = timer('create_pooler until its PgBouncer pod is ready')
    const created = textOf(await ok(admin!, 'create_pooler', {cluster: CLUSTER, name: POOLER, type: 'rw', instances: 1, pool_mode: 'session', namespace: NS}))
    assert.match(created, new RegExp(`Service ${POOLER}`))
    await untilReadyPods(1, 150_000)
    took()
    const deployment = await getJson(`/apis/apps/v1/namespaces/${NS}/deployments/${POOLER}`)
    const image = deployment?.spec?.template?.spec?.containers?.find((c: {name: string}) => c.name === 'pgbouncer')?.image
    assert.equal(image, node.available ? node.pgbouncerImage : undefined, 'the operator runs the local PgBouncer image')
    poolerReady = true
  })

  test('psql reaches PostgreSQL through the pooler Service', async (t) => {
    if (!(await skipWithoutNode(t)) || !poolerReady) return t.skip('no ready pooler (the first test failed)')
    pooled = {...app, host: `${POOLER}.${NS}.svc.cluster.local`}
    await sqlEventually(NS, 'insert into visits values (1)', pooled, 60_000)
    // The row written through PgBouncer is in PostgreSQL, read directly through the cluster's -rw service.
    assert.equal(await sqlOk(NS, 'select count(*) from visits', app), '1')
    // PgBouncer, not PostgreSQL, answered on the pooler's address: its SHOW commands exist only there.
    const direct = await sql(NS, 'show pool_mode', app)
    assert.notEqual(direct.code, 0, 'PostgreSQL has no pool_mode setting')
  })

  test('scale_pooler to 2 PgBouncer pods: both become ready and the Service keeps working', async (t) => {
    if (!(await skipWithoutNode(t)) || !pooled) return t.skip('no working pooler (an earlier test failed)')
    const scaled = textOf(await ok(admin!, 'scale_pooler', {name: POOLER, namespace: NS, instances: 2}))
    assert.match(scaled, /from 1 to 2/)
    await untilReadyPods(2, 120_000)
    assert.equal((await pooler()).instances, 2)
    assert.equal(await sqlEventually(NS, 'select count(*) from visits', pooled), '1')
  })

  test('pause_pooler holds queries (PgBouncer PAUSE) until resume_pooler', async (t) => {
    if (!(await skipWithoutNode(t)) || !pooled) return t.skip('no working pooler (an earlier test failed)')
    await ok(admin!, 'pause_pooler', {name: POOLER, namespace: NS, confirm: true})
    assert.equal((await pooler()).paused, true)
    // The instance managers apply the pause a moment later: from then on a query waits (PgBouncer
    // PAUSE holds it) until psql is killed by the timeout (exit code null), neither answered nor refused.
    let blocked: Awaited<ReturnType<typeof sql>> | undefined
    await waitUntil(async () => {
      blocked = await sql(NS, 'select 42', {...pooled, timeoutMs: 8_000})
      return blocked.code !== 0
    }, 90_000, 'a query through the paused pooler to wait instead of answering')
    assert.equal(blocked!.code, null, `the query was refused instead of held: ${blocked!.stderr}`)
    assert.doesNotMatch(blocked!.stdout, /42/)
    await ok(admin!, 'resume_pooler', {name: POOLER, namespace: NS})
    assert.equal((await pooler()).paused, false)
    assert.equal(await sqlEventually(NS, 'select 42', pooled, 90_000), '42')
  })

  test('delete_pooler removes its PgBouncer pods; the cluster keeps serving directly', async (t) => {
    if (!(await skipWithoutNode(t)) || !pooled) return t.skip('no working pooler (an earlier test failed)')
    await ok(admin!, 'delete_pooler', {name: POOLER, namespace: NS, confirm_deletion: true})
    await waitUntil(async () => (await getJson(`/apis/postgresql.cnpg.io/v1/namespaces/${NS}/poolers/${POOLER}`)) === undefined, 60_000, `pooler ${POOLER} to be gone`)
    await waitUntil(async () => ((await getJson(`/api/v1/namespaces/${NS}/pods?labelSelector=cnpg.io/poolerName=${POOLER}`))?.items ?? []).length === 0, 90_000, 'the PgBouncer pods to be gone')
    const listed = textOf(await ok(admin!, 'list_poolers', {namespace: NS}))
    assert.doesNotMatch(listed, new RegExp(`${NS}/${POOLER}\\b`))
    assert.equal(await sqlOk(NS, 'select count(*) from visits', app), '1')
  })
})
