// The README's main job (`npm run demo`): a real kube-apiserver + etcd with the CNPG v1.30 CRDs,
// a namespace `demo` with three sample clusters, and `kmcp serve` over HTTP on loopback.
//
//   npm run demo                       HTTP on http://127.0.0.1:4204/mcp (auth off, loopback only)
//   npm run demo -- --port 5000        another port
//
// No kubelet and no CNPG operator run here, so the script writes each object's .status itself,
// as the operator would. Ctrl-C stops kmcp and the API server and removes their temporary data.
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {join} from 'node:path'
import {installClusterRoles, installCrds, REPO_ROOT, startHarness, stateFromKubeconfig} from '../test/support/global-setup.ts'
import {expectStatus, rawRequest, STATE_ENV, type Connection} from '../test/support/kube.ts'
import {condition, createInstancePodsAndPVCs, makeHealthyCluster, setDatabaseRoleStatus, setDatabaseStatus} from '../test/support/operator.ts'
import {createObject} from '../test/support/kube.ts'
import {readFileSync, writeFileSync} from 'node:fs'

const say = (message: string) => process.stderr.write(`demo: ${message}\n`)
const args = process.argv.slice(2)
const port = Number(args[args.indexOf('--port') + 1]) || 4204
const NAMESPACE = 'demo'

say('starting a real kube-apiserver + etcd (the first run builds it from the Go modules; that takes a while)')
const harness = await startHarness()
let stopping = false
const children: Array<{kill(signal: NodeJS.Signals): boolean}> = []
async function stopAll(code: number): Promise<never> {
  if (stopping) process.exit(code)
  stopping = true
  say('stopping kmcp and the API server')
  for (const child of children) child.kill('SIGTERM')
  await harness.stop()
  process.exit(code)
}
process.on('SIGINT', () => void stopAll(0))
process.on('SIGTERM', () => void stopAll(0))

try {
  const state = {version: 1 as const, dataDir: harness.dataDir, ...stateFromKubeconfig(harness.kubeconfigPath, harness.dataDir)}
  const stateFile = join(harness.dataDir, 'harness-state.json')
  writeFileSync(stateFile, JSON.stringify(state), {mode: 0o600})
  process.env[STATE_ENV] = stateFile
  const conn: Connection = {server: state.server, ca: readFileSync(state.caFile), token: state.tokens.admin}
  await installCrds(conn)
  await installClusterRoles(conn)
  expectStatus('create namespace demo', await rawRequest(conn, 'POST', '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: NAMESPACE}}), 201)

  // 1. Healthy: three instances, all ready.
  await makeHealthyCluster(NAMESPACE, 'orders-db', {instances: 3, storageSize: '20Gi', withPods: true})
  // 2. Degraded: one replica is not ready and the operator says so.
  await makeHealthyCluster(NAMESPACE, 'analytics-db', {
    instances: 3,
    storageSize: '50Gi',
    status: {
      readyInstances: 2,
      phase: 'Waiting for the instances to become active',
      phaseReason: 'Some instances are not yet active. Please wait.',
      instancesStatus: {healthy: ['analytics-db-1', 'analytics-db-2'], failed: ['analytics-db-3']},
      conditions: [condition('Ready', 'False', 'ClusterIsNotReady', 'Cluster Is Not Ready'), condition('ContinuousArchiving', 'True', 'ContinuousArchivingSuccess', 'Continuous archiving is working')],
    },
  })
  await createInstancePodsAndPVCs(NAMESPACE, 'analytics-db', ['analytics-db-1', 'analytics-db-2', 'analytics-db-3'], {storageSize: '50Gi'})
  // 3. Healthy, with declarative databases and roles.
  await makeHealthyCluster(NAMESPACE, 'app-db', {instances: 2, storageSize: '10Gi'})
  for (const [name, owner] of [['app', 'app_owner'], ['reporting', 'reporter']] as const) {
    await createObject({apiVersion: 'postgresql.cnpg.io/v1', kind: 'DatabaseRole', metadata: {name: `app-db-${owner.replace(/_/g, '-')}`, namespace: NAMESPACE}, spec: {cluster: {name: 'app-db'}, name: owner, login: true, comment: `owner of ${name}`}})
    await setDatabaseRoleStatus(NAMESPACE, `app-db-${owner.replace(/_/g, '-')}`, {applied: true, observedGeneration: 1})
    await createObject({apiVersion: 'postgresql.cnpg.io/v1', kind: 'Database', metadata: {name: `app-db-${name}`, namespace: NAMESPACE}, spec: {cluster: {name: 'app-db'}, name, owner}})
    await setDatabaseStatus(NAMESPACE, `app-db-${name}`, {applied: true, observedGeneration: 1})
  }
  say(`namespace "${NAMESPACE}" has clusters orders-db (healthy), analytics-db (degraded) and app-db (with databases and roles)`)

  const kmcp = spawn(process.execPath, ['--no-warnings', join(REPO_ROOT, 'bin/dev.js'), 'serve', '--transport', 'http', '--host', '127.0.0.1', '--port', String(port), '--kubeconfig', state.kubeconfigs.admin, '--context', 'admin'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  children.push(kmcp)
  kmcp.once('exit', (code) => {
    if (!stopping) {
      say(`kmcp serve exited (${code}); stopping`)
      void stopAll(code ?? 1)
    }
  })
  const stdioConfig = {mcpServers: {kmcp: {command: process.execPath, args: [join(REPO_ROOT, 'bin/dev.js'), 'serve', '--transport', 'stdio', '--kubeconfig', state.kubeconfigs.admin]}}}
  process.stdout.write(
    [
      '',
      `kmcp is serving the demo cluster (Kubernetes ${state.server}, namespace "${NAMESPACE}").`,
      '',
      `  MCP over HTTP:   http://127.0.0.1:${port}/mcp   (authentication off; loopback only)`,
      `  Health:          http://127.0.0.1:${port}/healthz   readiness: /readyz`,
      `  MCP Inspector:   npx @modelcontextprotocol/inspector   then connect to the URL above (transport "Streamable HTTP")`,
      '',
      '  Or let your MCP client start kmcp over stdio with this entry:',
      JSON.stringify(stdioConfig, null, 2).replace(/^/gm, '    '),
      '',
      `  kubectl works too: KUBECONFIG=${state.kubeconfigs.admin} kubectl get clusters.postgresql.cnpg.io -n ${NAMESPACE}`,
      '',
      'Try asking your agent: "Which PostgreSQL clusters in namespace demo are unhealthy, and why?"',
      'Press Ctrl-C to stop everything.',
      '',
    ].join('\n'),
  )
  await once(kmcp, 'exit')
} catch (error) {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`)
  await stopAll(1)
}
