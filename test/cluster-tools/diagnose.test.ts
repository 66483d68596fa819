// The diagnosis tools on the simulated harness (a real API server, no kubelet): events created
// through the API, pods/log refused or failing per pod, and the live status read through the API
// server's real pod proxy from a stand-in instance manager (an HTTP server answering /pg/status on
// port 8000 at this machine's own address, which the test writes as the pod's IP). The same tools
// against the real CNPG operator and PostgreSQL run in test/real-node/diagnose.test.ts.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:http'
import {networkInterfaces} from 'node:os'
import {bindRole, createNamespace, harness, kubeRequest} from '../support/kube.ts'
import {createInstancePodsAndPVCs, makeHealthyCluster} from '../support/operator.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {INSTANCE_OPS_ROLE, VIEW_ROLE, ensureInstanceOpsRole, fails, ok, waitForCnpgStorage} from './helpers.ts'

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString().replace(/\.\d+Z$/, 'Z')

async function createEvent(ns: string, name: string, kind: string, object: string, fields: {reason: string; message: string; type?: string; count?: number; minutesAgo: number; firstMinutesAgo?: number}): Promise<void> {
  const apiVersion = kind === 'Cluster' ? 'postgresql.cnpg.io/v1' : kind === 'Job' ? 'batch/v1' : 'v1'
  const res = await kubeRequest('admin', 'POST', `/api/v1/namespaces/${ns}/events`, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {name, namespace: ns},
    involvedObject: {apiVersion, kind, name: object, namespace: ns},
    reason: fields.reason,
    message: fields.message,
    type: fields.type ?? 'Normal',
    count: fields.count ?? 1,
    firstTimestamp: minutesAgo(fields.firstMinutesAgo ?? fields.minutesAgo),
    lastTimestamp: minutesAgo(fields.minutesAgo),
    source: {component: kind === 'Pod' ? 'kubelet' : 'cloudnative-pg'},
  })
  assert.equal(res.status, 201, res.text)
}

function machineAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address
  }
  return undefined
}

describe('diagnosis tools against the real API server', () => {
  let ns: string
  let admin: StdioSession
  let alice: StdioSession

  before(async () => {
    ns = await createNamespace('ct-diag')
    await waitForCnpgStorage(ns)
    await ensureInstanceOpsRole()
    ;[admin, alice] = await Promise.all([connectStdio({kubeconfig: harness().kubeconfigFor('admin')}), connectStdio({kubeconfig: harness().kubeconfigFor('alice')})])
    await makeHealthyCluster(ns, 'shop', {instances: 2, withPods: true})
    await makeHealthyCluster(ns, 'shop-2', {instances: 1})
    await Promise.all([bindRole(ns, 'alice', VIEW_ROLE), bindRole(ns, 'alice', INSTANCE_OPS_ROLE)])
  })

  after(async () => {
    await Promise.all([admin?.close(), alice?.close()])
  })

  test('list_cluster_events: the cluster and its objects (also deleted ones), newest first, folded, filtered', async () => {
    await createEvent(ns, 'e1', 'Cluster', 'shop', {reason: 'CreatingPodDisruptionBudget', message: 'Creating PodDisruptionBudget shop-primary', minutesAgo: 50})
    await createEvent(ns, 'e2', 'Job', 'shop-1-initdb', {reason: 'Completed', message: 'Job completed', minutesAgo: 45})
    await createEvent(ns, 'e3', 'Pod', 'shop-1', {reason: 'BackOff', message: 'Back-off restarting failed container postgres in pod shop-1', type: 'Warning', count: 3, minutesAgo: 12, firstMinutesAgo: 20})
    await createEvent(ns, 'e4', 'Pod', 'shop-1', {reason: 'BackOff', message: 'Back-off restarting failed container postgres in pod shop-1', type: 'Warning', count: 2, minutesAgo: 5, firstMinutesAgo: 11})
    await createEvent(ns, 'e5', 'Pod', 'shop-3', {reason: 'FailedScheduling', message: '0/1 nodes are available: 1 Insufficient memory.', type: 'Warning', minutesAgo: 8})
    await createEvent(ns, 'e6', 'Service', 'shop-rw', {reason: 'Created', message: 'Service created', minutesAgo: 49})
    await createEvent(ns, 'e7', 'Pod', 'shop-2-1', {reason: 'Unhealthy', message: 'Readiness probe failed', type: 'Warning', minutesAgo: 3})
    await createEvent(ns, 'e8', 'Pod', 'web-1', {reason: 'Pulled', message: 'Container image pulled', minutesAgo: 2})

    // With the real node running, its scheduler and volume binder also report on this test's played
    // Pods and PVCs (they act in every namespace): only the events this test wrote are compared.
    type Listed = Array<{object: string; reason: string; count: number; type: string; source?: string}>
    const played = (events: Listed) => events.filter((e) => e.source === 'kubelet' || e.source === 'cloudnative-pg')
    const all = await ok(admin, 'list_cluster_events', {name: 'shop', namespace: ns})
    const events = played((all.structuredContent as {events: Listed}).events)
    assert.deepEqual(events.map((e) => `${e.object} ${e.reason} x${e.count}`), [
      'Pod/shop-1 BackOff x5',
      'Pod/shop-3 FailedScheduling x1',
      'Job/shop-1-initdb Completed x1',
      'Service/shop-rw Created x1',
      'Cluster/shop CreatingPodDisruptionBudget x1',
    ])
    assert.match(textOf(all), /\d+ distinct event\(s\), newest first:\n[\s\S]*- \S+ Warning BackOff Pod\/shop-1 \(x5 since \S+\): Back-off restarting/)

    const warnings = await ok(admin, 'list_cluster_events', {name: 'shop', namespace: ns, type: 'Warning', since: '10m'})
    assert.deepEqual(played((warnings.structuredContent as {events: Listed}).events).map((e) => e.object), ['Pod/shop-1', 'Pod/shop-3'])
    const limited = await ok(admin, 'list_cluster_events', {name: 'shop', namespace: ns, limit: 1, format: 'json'})
    assert.equal((limited.structuredContent as {events: unknown[]}).events.length, 1)
    assert.ok((limited.structuredContent as {matched: number}).matched >= 5, 'matched counts every event, not only the one shown')

    const other = await ok(admin, 'list_cluster_events', {name: 'shop-2', namespace: ns})
    assert.deepEqual(played((other.structuredContent as {events: Listed}).events).map((e) => e.object), ['Pod/shop-2-1'])
  })

  test('list_cluster_events: a missing cluster is 404; a caller without events access is told which permission', async () => {
    await fails(admin, 'list_cluster_events', {name: 'nope', namespace: ns}, /404 NotFound while getting cluster/)
    await fails(alice, 'list_cluster_events', {name: 'shop', namespace: ns}, /may not list events in namespace .*\n.*"list" on "events".*kmcp rbac setup/)
    await fails(admin, 'list_cluster_events', {name: 'shop', namespace: ns, since: 'last week'}, /neither a duration/)
  })

  test('get_cluster_logs: pods without a node are reported one by one; wrong instance and since are explained', async () => {
    const result = await ok(admin, 'get_cluster_logs', {name: 'shop', namespace: ns})
    const pods = (result.structuredContent as {pods: Array<{pod: string; kind: string; problem?: string}>}).pods
    assert.deepEqual(pods.map((p) => [p.pod, p.kind]), [['shop-1', 'instance'], ['shop-2', 'instance']])
    for (const pod of pods) assert.match(pod.problem ?? '', /the container has not started yet \(pod Pending\)/, `${pod.pod} never ran: no kubelet`)
    assert.match(textOf(result), /shop-1 \(instance\): no logs: the container has not started yet/)
    assert.match(textOf(result), /No log entry matches the filters/)
    await fails(admin, 'get_cluster_logs', {name: 'shop', namespace: ns, instance: 'shop-9'}, /Pod "shop-9" is not a pod of cluster .*\/shop\. Its pods are: shop-1, shop-2/)
    await fails(admin, 'get_cluster_logs', {name: 'shop', namespace: ns, since: 'soon'}, /since "soon" is neither a duration/)
    // A container that ran (its status written as the kubelet would): read from the API server,
    // which has no kubelet to ask here, so the pod's problem is the API server's answer.
    const patched = await kubeRequest('admin', 'PATCH', `/api/v1/namespaces/${ns}/pods/shop-2/status`, {status: {phase: 'Running', containerStatuses: [{name: 'postgres', ready: true, restartCount: 0, image: 'postgres', imageID: '', state: {running: {startedAt: minutesAgo(1)}}}]}}, {contentType: 'application/merge-patch+json'})
    assert.equal(patched.status, 200, patched.text)
    const ran = await ok(admin, 'get_cluster_logs', {name: 'shop', namespace: ns, instance: 'shop-2', format: 'json'})
    const [shop2] = (ran.structuredContent as {pods: Array<{problem?: string; lines_read: number}>}).pods
    assert.ok(shop2.problem === undefined ? shop2.lines_read === 0 : /^\d{3} /.test(shop2.problem), JSON.stringify(shop2))
    const previous = await ok(admin, 'get_cluster_logs', {name: 'shop', namespace: ns, instance: 'shop-2', previous: true})
    assert.match(textOf(previous), /never restarted: there is no previous container/)
  })

  test('get_cluster_logs: a caller who may list pods but not read pods/log is told which permission', async () => {
    await fails(alice, 'get_cluster_logs', {name: 'shop', namespace: ns}, /may not get pods\/log in namespace .*\n.*"get" on "pods\/log".*kmcp rbac setup/)
  })

  describe('live status through the pod proxy', () => {
    let server: Server | undefined
    let address: string | undefined
    const requests: string[] = []
    let skipReason = ''

    before(async () => {
      address = machineAddress()
      if (!address) {
        skipReason = 'this machine has no non-loopback IPv4 address (the API server refuses to proxy to loopback)'
        return
      }
      const status = {
        currentLsn: '0/5000148', systemID: '7442345542119124503', isPrimary: true, timeLineID: 1, isArchivingWAL: true,
        lastArchivedWAL: '000000010000000000000004', lastArchivedWALTime: '2026-12-01T14:00:00Z', readyWalFiles: 0,
        instanceManagerVersion: '1.30.0', replicationInfo: [], node: 'simulated', pod: {},
      }
      server = createServer((req, res) => {
        requests.push(req.url ?? '')
        res.writeHead(req.url === '/pg/status' ? 200 : 404, {'content-type': 'application/json'})
        res.end(JSON.stringify(req.url === '/pg/status' ? status : {error: 'not found'}))
      })
      const started = await new Promise<string | undefined>((resolve) => {
        server!.once('error', (error: NodeJS.ErrnoException) => resolve(error.code))
        server!.listen(8000, address, () => resolve(undefined))
      })
      if (started) {
        skipReason = `cannot listen on ${address}:8000 for the stand-in instance manager (${started})`
        server = undefined
        return
      }
      await makeHealthyCluster(ns, 'live', {instances: 2})
      await createInstancePodsAndPVCs(ns, 'live', ['live-1'])
      const patched = await kubeRequest('admin', 'PATCH', `/api/v1/namespaces/${ns}/pods/live-1/status`, {
        status: {
          phase: 'Running', podIP: address, podIPs: [{ip: address}],
          containerStatuses: [{name: 'postgres', ready: true, restartCount: 0, image: 'postgres', imageID: '', state: {running: {startedAt: minutesAgo(1)}}}],
        },
      }, {contentType: 'application/merge-patch+json'})
      assert.equal(patched.status, 200, patched.text)
    })

    after(async () => {
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
    })

    test('detailed status adds each instance manager\'s live status and the missing instance', async (t) => {
      if (skipReason) return t.skip(skipReason)
      const result = await ok(admin, 'get_cluster_status', {name: 'live', namespace: ns, detail_level: 'detailed'})
      const live = (result.structuredContent as {live_status: {instances: Array<Record<string, unknown>>; missing_instances: string[]}}).live_status
      assert.deepEqual(requests, ['/pg/status'], 'the API server proxied exactly the status request')
      assert.equal(live.instances.length, 1)
      assert.equal(live.instances[0].role, 'primary')
      assert.equal(live.instances[0].current_lsn, '0/5000148')
      assert.equal(live.instances[0].timeline, 1)
      assert.equal(live.instances[0].pod_ready, true)
      assert.deepEqual(live.missing_instances, ['live-2'])
      const text = textOf(result)
      assert.match(text, /\*\*Live instance status\*\* \(from each instance manager\):\n- live-1: primary, ready, timeline 1, current LSN 0\/5000148, WAL archiving ok \(last 000000010000000000000004/)
      assert.match(text, /Missing instances: live-2/)
    })

    test('a caller without pods/proxy still gets the status, with a clear note on the live part', async (t) => {
      if (skipReason) return t.skip(skipReason)
      const result = await ok(alice, 'get_cluster_status', {name: 'live', namespace: ns, detail_level: 'detailed'})
      assert.match(textOf(result), /Instances: 2\/2 ready/)
      assert.match(textOf(result), /Live instance status:\*\* not available: .*may not get pods\/proxy in namespace .*\n.*--allow-pod-proxy/)
    })

    test('pods without an IP are reported as such; concise status does not read live status', async () => {
      const detailed = await ok(admin, 'get_cluster_status', {name: 'shop', namespace: ns, detail_level: 'detailed'})
      assert.match(textOf(detailed), /- shop-1: pod is (Pending|not running) and has no IP yet/)
      const concise = await callTool(admin.client, 'get_cluster_status', {name: 'shop', namespace: ns})
      assert.doesNotMatch(textOf(concise), /Live instance status/)
      assert.equal((concise.structuredContent as {live_status?: unknown}).live_status, undefined)
    })
  })
})
