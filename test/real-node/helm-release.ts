// The set-up the real-node chart tests share (helm-real.test.ts without authentication,
// helm-real-auth.test.ts with it): the local kmcp and Redis images imported into the node's
// containerd, a Redis claim the bundled Redis can write, values that fit the node, `kmcp helm
// install` run for real, the kubelet-reported rollout checked, pod logs, and helm's uninstall.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {chownSync, existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {TestContext} from 'node:test'
import {promisify} from 'node:util'
import YAML from 'yaml'
import {cnpgNamespace} from '../auth/helpers.ts'
import {helmPath, runKmcp, type RunResult} from '../chart/helpers.ts'
import {REPO_ROOT} from '../support/mcp.ts'
import {createNamespace, expectStatus, harness, kubeRequest, waitFor} from '../support/kube.ts'
import {realNode, skipUnlessRealNode, type RealNodeInfo} from '../support/real-node.ts'

const run = promisify(execFile)
export const RELEASE = 'kmcp'
const REDIS_UID = 999
const TOLERATIONS = [{key: 'kmcp.io/real-node', operator: 'Exists', effect: 'NoSchedule'}]

export interface Image {
  ref: string
  tar: string
}

export interface ReleaseImages {
  kmcp: Image
  redis: Image
}

export interface ReleasePod {
  metadata: {name: string; labels: Record<string, string>}
  status?: {conditions?: Array<{type: string; status: string}>; containerStatuses?: Array<{image: string; restartCount: number}>}
}

/** The real node when the chart can run on it from this checkout; otherwise skips `t` with the reason. */
export function chartNode(t: TestContext): RealNodeInfo | undefined {
  if (!skipUnlessRealNode(t)) return undefined
  const node = realNode()
  if (!node.available) return undefined
  if (!existsSync(join(REPO_ROOT, 'dist', 'kmcp'))) {
    t.skip('dist/kmcp is not built: run the tests with "npm test" (it builds the single executable)')
    return undefined
  }
  return node
}

/**
 * The images imported, a release namespace holding the Redis claim, and a namespace for the cnpg
 * suite's objects; both namespaces are added to `cleanup`.
 */
export async function prepareRelease(node: RealNodeInfo, prefix: string, cleanup: string[]): Promise<{images: ReleaseImages; namespace: string; suiteNamespace: string; claim: string}> {
  const images = await importImages(node)
  const namespace = await createNamespace(prefix)
  cleanup.push(namespace)
  const suiteNamespace = await cnpgNamespace(`${prefix}-suite`)
  cleanup.push(suiteNamespace)
  return {images, namespace, suiteNamespace, claim: await redisClaim(namespace, node)}
}

/** Builds (cached) and imports the kmcp and Redis images into the node's containerd. */
export async function importImages(node: RealNodeInfo): Promise<ReleaseImages> {
  const {ensureKmcpImage, ensureRedisImage} = (await import('../../scripts/node/kmcp-image.mjs')) as {ensureKmcpImage: (binary: string) => Promise<Image>; ensureRedisImage: () => Promise<Image>}
  const [kmcp, redis] = await Promise.all([ensureKmcpImage(join(REPO_ROOT, 'dist', 'kmcp')), ensureRedisImage()])
  const socket = join(node.runDir, 'containerd', 'containerd.sock')
  for (const image of [kmcp, redis]) {
    await run('ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'import', '--base-name', image.ref.slice(0, image.ref.lastIndexOf(':')), image.tar], {maxBuffer: 16 << 20})
  }
  return {kmcp, redis}
}

export function splitRef(ref: string): {repository: string; tag: string} {
  const i = ref.lastIndexOf(':')
  return {repository: ref.slice(0, i), tag: ref.slice(i + 1)}
}

/**
 * A claim of the node's storage class for Redis. The node's provisioner makes hostPath volumes
 * owned by PostgreSQL's uid, and hostPath ignores fsGroup: the directory is handed to the chart's
 * Redis uid here, what a real provisioner with fsGroup support does by itself.
 */
export async function redisClaim(namespace: string, node: RealNodeInfo): Promise<string> {
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

/** Values that make the chart run on the node: local images never pulled, the node's taint tolerated, small requests, the prepared Redis claim. */
export function nodeValues(images: ReleaseImages, claim: string, targetNamespaces: string[]): Record<string, unknown> {
  const redisImage = splitRef(images.redis.ref)
  return {
    image: {pullPolicy: 'Never'},
    rbac: {targetNamespaces},
    tolerations: TOLERATIONS,
    resources: {requests: {cpu: '10m', memory: '64Mi'}, limits: {memory: '512Mi'}},
    redis: {
      image: {repository: redisImage.repository, tag: redisImage.tag, pullPolicy: 'Never'},
      persistence: {enabled: true, existingClaim: claim},
      tolerations: TOLERATIONS,
      resources: {requests: {cpu: '10m', memory: '16Mi'}, limits: {memory: '192Mi'}},
    },
  }
}

export async function releasePods(namespace: string): Promise<ReleasePod[]> {
  const list = expectStatus('list pods', await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/pods`, undefined, {query: {labelSelector: `app.kubernetes.io/instance=${RELEASE}`}}))
  return list.body.items
}

const isReady = (pod: ReleasePod) => Boolean(pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))

/**
 * `kmcp helm install` (the real command, run from the sources) with the values and friendly flags
 * given, then the rollout as the kubelet reports it: two kmcp replicas and Redis Ready on the local
 * images, never restarted, and the PodDisruptionBudget of a two-replica release.
 */
export async function installAndCheck(options: {namespace: string; images: ReleaseImages; values: Record<string, unknown>; flags?: string[]}): Promise<{install: RunResult; servers: ReleasePod[]}> {
  const valuesFile = join(mkdtempSync(join(tmpdir(), 'kmcp-helm-real-')), 'values.yaml')
  writeFileSync(valuesFile, YAML.stringify(options.values))
  const install = await runKmcp(
    ['helm', 'install', '--kubeconfig', harness().kubeconfigPath, '--helm', helmPath(), '--namespace', options.namespace, '--release', RELEASE, '--image', options.images.kmcp.ref, '--values', valuesFile, '--timeout', '180', ...(options.flags ?? [])],
    {timeoutMs: 240_000},
  )
  const pods = await releasePods(options.namespace)
  const summary = JSON.stringify(pods.map((p) => ({name: p.metadata.name, conditions: p.status?.conditions, containers: p.status?.containerStatuses})), null, 1).slice(0, 4000)
  const logs = install.code === 0 ? '' : (await Promise.all(pods.map(async (p) => `${p.metadata.name}:\n${(await podLog(options.namespace, p.metadata.name)).slice(-1500)}`))).join('\n---\n')
  assert.equal(install.code, 0, `${install.stderr.slice(-3000)}\npods: ${summary}\n${logs}`)

  const servers = pods.filter((p) => p.metadata.labels['app.kubernetes.io/component'] === 'server')
  const redis = pods.filter((p) => p.metadata.labels['app.kubernetes.io/component'] === 'redis')
  assert.equal(servers.length, 2, summary)
  assert.equal(redis.length, 1, summary)
  for (const pod of [...servers, ...redis]) assert.ok(isReady(pod), `${pod.metadata.name} Ready\n${summary}`)
  for (const pod of [...servers, ...redis]) assert.equal(pod.status?.containerStatuses?.[0]?.restartCount, 0, `${pod.metadata.name} never restarted\n${summary}`)
  for (const pod of servers) assert.match(pod.status?.containerStatuses?.[0]?.image ?? '', new RegExp(splitRef(options.images.kmcp.ref).tag))
  assert.match(redis[0].status?.containerStatuses?.[0]?.image ?? '', new RegExp(splitRef(options.images.redis.ref).tag.replace(/\./g, '\\.')))
  const pdb = await kubeRequest('admin', 'GET', `/apis/policy/v1/namespaces/${options.namespace}/poddisruptionbudgets`)
  assert.equal(pdb.status, 200, pdb.text)
  assert.equal(pdb.body.items.length, 1, 'the chart adds a PodDisruptionBudget with two replicas')
  return {install, servers}
}

/** The container log of a pod, through the API server's pods/log (what `kubectl logs` reads). */
export async function podLog(namespace: string, pod: string): Promise<string> {
  return (await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/pods/${pod}/log`, undefined, {query: {container: 'kmcp'}})).text ?? ''
}

/** The JSON audit lines in a pod's log. */
export function auditLines(log: string): Array<Record<string, unknown>> {
  return log
    .split('\n')
    .filter((line) => line.includes('"kind":"audit"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** kmcp has no uninstall command: helm's own, waiting until the release's pods are gone. */
export async function uninstallRelease(namespace: string): Promise<void> {
  const uninstall = await run(helmPath(), ['uninstall', RELEASE, '--namespace', namespace, '--wait', '--timeout', '90s', '--kubeconfig', harness().kubeconfigPath]).then(
    () => ({code: 0, stderr: ''}),
    (error: {stderr?: string}) => ({code: 1, stderr: error.stderr ?? ''}),
  )
  assert.equal(uninstall.code, 0, uninstall.stderr)
  await waitFor(async () => (await releasePods(namespace)).length === 0, {timeoutMs: 90_000, intervalMs: 1000, message: 'the release pods gone after uninstall'})
}
