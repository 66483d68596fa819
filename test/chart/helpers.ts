// Helpers shared by the chart tests: the real helm built by scripts/build-tools.mjs, kmcp run as
// a process, and playing what cannot run here: the Deployment controller without the real node, the
// kubelet of kmcp's own pods with it (there is no kmcp image on the node).
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import YAML from 'yaml'
import {kmcpCommand, REPO_ROOT} from '../support/mcp.ts'
import {expectStatus, harness, kubeRequest, type KubeObject} from '../support/kube.ts'
import {realNode} from '../support/real-node.ts'

export const CHART_DIR = join(REPO_ROOT, 'chart')
export const ALL_FEATURES_VALUES = join(CHART_DIR, 'ci', 'all-features-values.yaml')

export function helmPath(): string {
  const path = process.env.KMCP_TEST_HELM ?? join(REPO_ROOT, '.cache', 'bin', 'helm')
  if (!existsSync(path)) throw new Error(`helm is not built at ${path}: run the tests with "npm test" (scripts/build-tools.mjs builds it).`)
  return path
}

export function helm(...args: string[]): {code: number; stdout: string; stderr: string} {
  const result = spawnSync(helmPath(), args, {encoding: 'utf8', env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', KUBECONFIG: harness().kubeconfigPath}})
  return {code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr}
}

/** helm template → parsed objects (throws with helm's message when rendering fails). */
export function renderChart(release: string, namespace: string, ...extra: string[]): KubeObject[] {
  const result = helm('template', release, CHART_DIR, '--namespace', namespace, ...extra)
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`)
  return YAML.parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => Boolean(o?.kind))
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `kmcp ARGS` from the sources as a child process. `whileRunning` is called repeatedly
 * (every 300 ms) until the process exits: the tests use it to play the Deployment controller.
 */
export function runKmcp(args: string[], options: {env?: Record<string, string>; whileRunning?: () => Promise<void>; timeoutMs?: number} = {}): Promise<RunResult> {
  const cmd = kmcpCommand(...args)
  const child = spawn(cmd.command, cmd.args, {
    cwd: REPO_ROOT,
    // OCLIF_COLUMNS: one line per message line (oclif wraps errors at the terminal width otherwise).
    env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', OCLIF_COLUMNS: '10000', ...options.env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  let exited = false
  const done = new Promise<RunResult>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.once('close', (code) => {
      exited = true
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
  if (options.whileRunning) {
    const tick = options.whileRunning
    void (async () => {
      while (!exited) {
        await tick().catch(() => undefined)
        await new Promise((resolve) => setTimeout(resolve, 300))
      }
    })()
  }
  return done
}

/**
 * True when the real node's controller-manager runs the Deployment and ReplicaSet controllers: they
 * then own every Deployment's status and create the pods, and the tests play only the kubelet.
 */
export function realDeploymentController(): boolean {
  return realNode().available
}

/** A values file selecting a node label no node has: the release's pods stay unscheduled, so no kubelet tries to pull kmcp's image. */
function offTheNodeValues(): string {
  const file = join(tmpdir(), `kmcp-chart-off-the-node-${process.pid}.yaml`)
  const nodeSelector = {'kmcp-test-no-such-node': 'true'}
  if (!existsSync(file)) writeFileSync(file, YAML.stringify({nodeSelector, redis: {nodeSelector}}))
  return file
}

/**
 * Brings the release's current spec to "rolled out". With the real controllers: marks every pod of
 * the release Ready (what the kubelet would report), and the controllers report the rollout
 * themselves. Without them: writes what the Deployment controller would report, for each Deployment
 * of the release that is not there yet.
 */
export async function markReleaseRolledOut(namespace: string, release: string): Promise<void> {
  if (realDeploymentController()) return markReleasePodsReady(namespace, release)
  const list = expectStatus(
    'list deployments',
    await kubeRequest('admin', 'GET', `/apis/apps/v1/namespaces/${namespace}/deployments`, undefined, {query: {labelSelector: `app.kubernetes.io/instance=${release}`}}),
  ).body as {items: Array<{metadata: {name: string; generation: number}; spec: {replicas?: number}; status?: {observedGeneration?: number}}>}
  for (const deployment of list.items) {
    if (deployment.status?.observedGeneration === deployment.metadata.generation) continue
    const replicas = deployment.spec.replicas ?? 1
    expectStatus(
      `mark ${deployment.metadata.name} rolled out`,
      await kubeRequest('admin', 'PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${deployment.metadata.name}/status`, {
        status: {observedGeneration: deployment.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas},
      }),
    )
  }
}

async function markReleasePodsReady(namespace: string, release: string): Promise<void> {
  const list = expectStatus(
    'list pods',
    await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/pods`, undefined, {query: {labelSelector: `app.kubernetes.io/instance=${release}`}}),
  ).body as {items: Array<{metadata: {name: string; deletionTimestamp?: string}; status?: {conditions?: Array<{type: string; status: string}>}}>}
  for (const pod of list.items) {
    if (pod.metadata.deletionTimestamp || pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue
    const now = new Date().toISOString()
    expectStatus(
      `mark pod ${pod.metadata.name} ready`,
      await kubeRequest('admin', 'PATCH', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/status`, {
        status: {conditions: ['Initialized', 'ContainersReady', 'Ready'].map((type) => ({type, status: 'True', lastTransitionTime: now}))},
      }),
    )
  }
}

/** The two Secrets `kmcp secrets create` makes, with valid-looking values (names from secret-names.ts). */
export async function createChartSecrets(namespace: string, release: string): Promise<void> {
  const {keysSecretName, oidcClientSecretName, KEYS_SECRET_KEYS, OIDC_CLIENT_SECRET_KEYS} = await import('../../src/lib/setup/secret-names.ts')
  const b64 = (text: string) => Buffer.from(text).toString('base64')
  for (const [name, data] of [
    [oidcClientSecretName(release), {[OIDC_CLIENT_SECRET_KEYS.clientSecret]: b64('test-client-secret')}],
    [keysSecretName(release), {[KEYS_SECRET_KEYS.jwtSigningKey]: b64('ab'.repeat(32)), [KEYS_SECRET_KEYS.storageEncryptionKey]: b64('A'.repeat(43) + '=')}],
  ] as const) {
    expectStatus(`create Secret ${name}`, await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/secrets`, {apiVersion: 'v1', kind: 'Secret', metadata: {name}, type: 'Opaque', data}), 201)
  }
}

/**
 * Flags every install test passes: the harness cluster, the built helm, complete sign-in
 * settings; `overrides` replaces any of them by flag name (e.g. {'--issuer': '…'}).
 */
export function installFlags(namespace: string, release: string, overrides: Record<string, string> = {}): string[] {
  const flags: Record<string, string> = {
    '--kubeconfig': harness().kubeconfigPath,
    '--helm': helmPath(),
    '--namespace': namespace,
    '--release': release,
    '--issuer': 'https://id.example.com/',
    '--audience': 'https://kmcp.example.com/mcp',
    '--client-id': 'kmcp-test',
    '--public-url': 'https://kmcp.example.com',
    ...overrides,
  }
  const keepOffTheNode = realDeploymentController() ? ['--values', offTheNodeValues()] : []
  return [...Object.entries(flags).flatMap(([flag, value]) => [flag, value]), ...keepOffTheNode]
}
