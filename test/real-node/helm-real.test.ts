// kmcp's own chart running FOR REAL on the real node: `kmcp helm install` with a local kmcp image
// (the single executable dist/kmcp in a Debian bookworm image, scripts/node/kmcp-image.mjs) and the
// bundled Redis from Debian's redis-server package. The kubelet starts both kmcp replicas, probes
// /readyz (kmcp reaching the API server with its ServiceAccount), and the rollout finishes with no
// help from the test. Then `kmcp test --service` runs the protocol and cnpg suites through the real
// port-forward to a real kmcp pod. Authentication is off (oidc.enabled=false, a setting the chart
// offers for kmcp behind something that authenticates): a kmcp pod cannot reach the test's identity
// provider on this machine's loopback. Redis still runs with the chart's generated password.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {chownSync, existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {after, describe, test} from 'node:test'
import YAML from 'yaml'
import {cnpgNamespace} from '../auth/helpers.ts'
import {helmPath, runKmcp} from '../chart/helpers.ts'
import {byPlugin, describeReport, jsonReport, runKmcpTest} from '../runner/helpers.ts'
import {REPO_ROOT} from '../support/mcp.ts'
import {createNamespace, deleteNamespace, expectStatus, harness, kubeRequest, waitFor} from '../support/kube.ts'
import {realNode, skipUnlessRealNode, type RealNodeInfo} from '../support/real-node.ts'

const run = promisify(execFile)
const RELEASE = 'kmcp'
const REDIS_UID = 999

interface Image {
  ref: string
  tar: string
}

/** Builds (cached) and imports the kmcp and Redis images into the node's containerd. */
async function importImages(node: RealNodeInfo): Promise<{kmcp: Image; redis: Image}> {
  const {ensureKmcpImage, ensureRedisImage} = (await import('../../scripts/node/kmcp-image.mjs')) as {ensureKmcpImage: (binary: string) => Promise<Image>; ensureRedisImage: () => Promise<Image>}
  const [kmcp, redis] = await Promise.all([ensureKmcpImage(join(REPO_ROOT, 'dist', 'kmcp')), ensureRedisImage()])
  const socket = join(node.runDir, 'containerd', 'containerd.sock')
  for (const image of [kmcp, redis]) {
    await run('ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'import', '--base-name', image.ref.slice(0, image.ref.lastIndexOf(':')), image.tar], {maxBuffer: 16 << 20})
  }
  return {kmcp, redis}
}

function splitRef(ref: string): {repository: string; tag: string} {
  const i = ref.lastIndexOf(':')
  return {repository: ref.slice(0, i), tag: ref.slice(i + 1)}
}

/**
 * A claim of the node's storage class for Redis. The node's provisioner makes hostPath volumes
 * owned by PostgreSQL's uid, and hostPath ignores fsGroup: the directory is handed to the chart's
 * Redis uid here, what a real provisioner with fsGroup support does by itself.
 */
async function redisClaim(namespace: string, node: RealNodeInfo): Promise<string> {
  const name = 'redis-data'
  const claim = {apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: {name}, spec: {accessModes: ['ReadWriteOnce'], storageClassName: node.storageClass, resources: {requests: {storage: '1Gi'}}}}
  expectStatus('create the Redis claim', await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, claim), 201)
  const volumeName = await waitFor(async () => (await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${name}`)).body?.spec?.volumeName as string | undefined, {
    timeoutMs: 60_000,
    intervalMs: 500,
    message: 'the Redis claim bound by the node provisioner',
  })
  const volume = expectStatus('get the volume', await kubeRequest('admin', 'GET', `/api/v1/persistentvolumes/${volumeName}`)).body as {spec: {hostPath?: {path: string}}}
  const dir = volume.spec.hostPath?.path
  assert.ok(dir && existsSync(dir), `the volume's directory ${dir} exists on this machine`)
  chownSync(dir, REDIS_UID, REDIS_UID)
  return name
}

async function releasePods(namespace: string): Promise<Array<{metadata: {name: string; labels: Record<string, string>}; status?: {conditions?: Array<{type: string; status: string}>; containerStatuses?: Array<{image: string; restartCount: number}>}}>> {
  const list = expectStatus('list pods', await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/pods`, undefined, {query: {labelSelector: `app.kubernetes.io/instance=${RELEASE}`}}))
  return list.body.items
}

const isReady = (pod: {status?: {conditions?: Array<{type: string; status: string}>}}) => Boolean(pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))

describe('kmcp helm install on the real node', {timeout: 600_000}, () => {
  const namespaces: string[] = []
  after(async () => {
    for (const namespace of namespaces) await deleteNamespace(namespace)
  })

  test('two real kmcp pods and the bundled Redis roll out, and kmcp test --service passes through a port-forward to them', {timeout: 600_000}, async (t) => {
    if (!skipUnlessRealNode(t)) return
    const node = realNode()
    if (!node.available) return
    if (!existsSync(join(REPO_ROOT, 'dist', 'kmcp'))) return t.skip('dist/kmcp is not built: run the tests with "npm test" (it builds the single executable)')
    const images = await importImages(node)
    const namespace = await createNamespace('helm-real')
    namespaces.push(namespace)
    const suiteNamespace = await cnpgNamespace('helm-real-suite')
    namespaces.push(suiteNamespace)
    const claim = await redisClaim(namespace, node)

    const toleration = [{key: 'kmcp.io/real-node', operator: 'Exists', effect: 'NoSchedule'}]
    const kmcpImage = splitRef(images.kmcp.ref)
    const redisImage = splitRef(images.redis.ref)
    const values = {
      image: {pullPolicy: 'Never'},
      oidc: {enabled: false},
      rbac: {targetNamespaces: [suiteNamespace]},
      tolerations: toleration,
      resources: {requests: {cpu: '10m', memory: '64Mi'}, limits: {memory: '512Mi'}},
      redis: {
        image: {repository: redisImage.repository, tag: redisImage.tag, pullPolicy: 'Never'},
        persistence: {enabled: true, existingClaim: claim},
        tolerations: toleration,
        resources: {requests: {cpu: '10m', memory: '16Mi'}, limits: {memory: '192Mi'}},
      },
    }
    const valuesFile = join(mkdtempSync(join(tmpdir(), 'kmcp-helm-real-')), 'values.yaml')
    writeFileSync(valuesFile, YAML.stringify(values))

    const install = await runKmcp(['helm', 'install', '--kubeconfig', harness().kubeconfigPath, '--helm', helmPath(), '--namespace', namespace, '--release', RELEASE, '--image', images.kmcp.ref, '--values', valuesFile, '--timeout', '180'], {timeoutMs: 240_000})
    const pods = await releasePods(namespace)
    const podSummary = JSON.stringify(pods.map((p) => ({name: p.metadata.name, conditions: p.status?.conditions, containers: p.status?.containerStatuses})), null, 1).slice(0, 4000)
    assert.equal(install.code, 0, `${install.stderr.slice(-3000)}\npods: ${podSummary}`)

    // The kubelet's own readiness: both kmcp replicas and Redis, running the local images, never restarted.
    const servers = pods.filter((p) => p.metadata.labels['app.kubernetes.io/component'] === 'server')
    const redis = pods.filter((p) => p.metadata.labels['app.kubernetes.io/component'] === 'redis')
    assert.equal(servers.length, 2, podSummary)
    assert.equal(redis.length, 1, podSummary)
    for (const pod of [...servers, ...redis]) assert.ok(isReady(pod), `${pod.metadata.name} Ready\n${podSummary}`)
    for (const pod of servers) assert.match(pod.status?.containerStatuses?.[0]?.image ?? '', new RegExp(kmcpImage.tag))
    assert.match(redis[0].status?.containerStatuses?.[0]?.image ?? '', new RegExp(redisImage.tag.replace(/\./g, '\\.')))
    const pdb = await kubeRequest('admin', 'GET', `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets`)
    assert.equal(pdb.status, 200, pdb.text)
    assert.equal(pdb.body.items.length, 1, 'the chart adds a PodDisruptionBudget with two replicas')

    const result = await runKmcpTest(['--service', `${namespace}/${RELEASE}`, '--kubeconfig', harness().kubeconfigFor('admin'), '--suite', 'protocol,cnpg', '--namespace', suiteNamespace, '--json'], {timeoutMs: 300_000})
    const report = jsonReport(result)
    assert.equal(result.code, 0, `${describeReport(report)}\n${result.stderr.slice(-3000)}`)
    for (const name of ['create_cluster', 'delete_cluster', 'cleanup']) assert.equal(byPlugin(report).get(name)?.status, 'passed', name)
    assert.match(String((report as unknown as {target?: string}).target ?? JSON.stringify(report)), new RegExp(`service ${namespace}/${RELEASE}:http \\(pod ${RELEASE}-[a-z0-9-]+:4204\\)`))

    // The calls reached the real pods: kmcp's own log in a pod records them.
    const logs = await Promise.all(servers.map(async (p) => (await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/pods/${p.metadata.name}/log`)).text ?? ''))
    assert.ok(logs.some((text) => /create_postgres_cluster/.test(text)), `a kmcp pod logged the suite's tool calls:\n${logs.map((l) => l.slice(-1500)).join('\n---\n')}`)

    // kmcp has no uninstall command: helm's own.
    const uninstall = await run(helmPath(), ['uninstall', RELEASE, '--namespace', namespace, '--wait', '--timeout', '90s', '--kubeconfig', harness().kubeconfigPath]).then(
      () => ({code: 0, stderr: ''}),
      (error: {stderr?: string}) => ({code: 1, stderr: error.stderr ?? ''}),
    )
    assert.equal(uninstall.code, 0, uninstall.stderr)
    await waitFor(async () => (await releasePods(namespace)).length === 0, {timeoutMs: 90_000, intervalMs: 1000, message: 'the release pods gone after uninstall'})
  })
})
