// The README's main job (`npm run demo`): a real kube-apiserver + etcd with the CNPG v1.30 CRDs,
// the namespace `demo` with sample clusters, and `kmcp serve` over HTTP on loopback.
//
//   npm run demo                                   HTTP on http://127.0.0.1:4204/mcp (auth off, loopback only)
//   npm run demo -- --port 5000                    another port
//   npm run demo -- --transcript <file.md>         record the "3 instances, a role, a database, a switchover"
//                                                  scenario on the real node into <file.md>, then stop
//
// As root (and unless KMCP_REAL_NODE=0) the CloudNativePG operator runs real PostgreSQL on a local
// node (test/support/real-node.ts) and the sample clusters are created THROUGH kmcp with MCP tool
// calls. Otherwise the demo is simulated: the script writes each object's .status itself, and says so.
// Ctrl-C stops kmcp, the node and the API server and removes their temporary data.
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {installClusterRoles, installCrds, REPO_ROOT, startHarness, stateFromKubeconfig} from '../test/support/global-setup.ts'
import {expectStatus, rawRequest, STATE_ENV, type Connection} from '../test/support/kube.ts'
import {seedSimulatedClusters} from './demo/simulated.ts'
import {createSampleClusters, psqlInstructions, realNodeRefusal, startDemoNode, type StartedNode} from './demo/real.ts'
import {recordTranscript} from './demo/transcript.ts'

const say = (message: string) => process.stderr.write(`demo: ${message}\n`)
const args = process.argv.slice(2)
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const port = Number(option('--port')) || 4204
const transcriptFile = option('--transcript')
const NAMESPACE = 'demo'

const refusal = realNodeRefusal()
if (transcriptFile && refusal) {
  say(`--transcript needs the real node, and ${refusal}.`)
  process.exit(1)
}
say(refusal ? `SIMULATED demo: ${refusal}. No operator runs; the clusters' status is written by this script.` : 'REAL demo: the CloudNativePG operator will run real PostgreSQL on a local node')
say('starting a real kube-apiserver + etcd (the first run builds it from the Go modules; that takes a while)')
const harness = await startHarness()
let node: StartedNode | undefined
let stopping = false
const children: Array<{kill(signal: NodeJS.Signals): boolean}> = []
async function stopAll(code: number): Promise<never> {
  if (stopping) process.exit(code)
  stopping = true
  say(`stopping kmcp${node ? ', the node' : ''} and the API server`)
  for (const child of children) child.kill('SIGTERM')
  await node?.stop().catch((error: unknown) => say(`stopping the node: ${error instanceof Error ? error.message : String(error)}`))
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

  if (!refusal) {
    const runDir = join(harness.dataDir, 'node')
    mkdirSync(runDir, {recursive: true})
    const logFile = join(REPO_ROOT, '.cache', 'logs', `demo-node-${process.pid}.log`)
    say(`starting the node (kubelet, containerd, CoreDNS, kube-proxy) and the CNPG operator watching namespace demo (first run builds them: long; log ${logFile})`)
    node = await startDemoNode({stateFile, namespace: NAMESPACE, runDir, logFile})
    // The node helpers (clusterManifestForNode & co.) read the node from the state file, as in the tests.
    writeFileSync(stateFile, JSON.stringify({...state, realNode: {available: true, ...node.info}}), {mode: 0o600})
  } else {
    say(await seedSimulatedClusters(NAMESPACE))
  }

  const kmcp = spawn(process.execPath, ['--no-warnings', join(REPO_ROOT, 'bin/dev.js'), 'serve', '--transport', 'http', '--host', '127.0.0.1', '--port', String(port), '--kubeconfig', state.kubeconfigs.admin, '--context', 'admin', ...(node ? ['--allowed-images', 'localhost/'] : [])], {
    stdio: ['ignore', 'inherit', 'pipe'],
  })
  children.push(kmcp)
  kmcp.stderr!.pipe(process.stderr)
  kmcp.once('exit', (code) => {
    if (!stopping) {
      say(`kmcp serve exited (${code}); stopping`)
      void stopAll(code ?? 1)
    }
  })
  const url = `http://127.0.0.1:${port}/mcp`
  let connectInstructions: string[] = []
  if (node) {
    await waitForListening(`http://127.0.0.1:${port}/healthz`)
    const client = new Client({name: 'kmcp-demo', version: '1.0.0'})
    await client.connect(new StreamableHTTPClientTransport(new URL(url)))
    if (transcriptFile) {
      await recordTranscript(client, NAMESPACE, transcriptFile, say)
      await client.close()
      await stopAll(0)
    }
    say('creating the sample clusters through kmcp (MCP tool calls, as an agent would):')
    const clusters = await createSampleClusters(client, NAMESPACE, (line) => say(`  ${line.replace(/\n/g, '\n        ')}`))
    await client.close()
    connectInstructions = [...(await psqlInstructions(NAMESPACE, clusters, node.netns, state.kubeconfigs.admin)), '']
  }
  const stdioConfig = {mcpServers: {kmcp: {command: process.execPath, args: [join(REPO_ROOT, 'bin/dev.js'), 'serve', '--transport', 'stdio', '--kubeconfig', state.kubeconfigs.admin]}}}
  process.stdout.write(
    [
      '',
      `kmcp is serving the demo cluster (Kubernetes ${state.server}, namespace "${NAMESPACE}")${node ? ' with the real CloudNativePG operator running PostgreSQL' : ' — SIMULATED: no operator runs, statuses are written by the demo script'}.`,
      '',
      `  MCP over HTTP:   ${url}   (authentication off; loopback only)`,
      `  Health:          http://127.0.0.1:${port}/healthz   readiness: /readyz`,
      `  MCP Inspector:   npx @modelcontextprotocol/inspector   then connect to the URL above (transport "Streamable HTTP")`,
      '',
      '  Or let your MCP client start kmcp over stdio with this entry:',
      JSON.stringify(stdioConfig, null, 2).replace(/^/gm, '    '),
      '',
      `  kubectl works too: KUBECONFIG=${state.kubeconfigs.admin} kubectl get clusters.postgresql.cnpg.io -n ${NAMESPACE}`,
      '',
      ...connectInstructions,
      node
        ? 'Try asking your agent: "Create a cluster with 3 instances in namespace demo, add a role and a database, then switch over."'
        : 'Try asking your agent: "Which PostgreSQL clusters in namespace demo are unhealthy, and why?"',
      'Press Ctrl-C to stop everything.',
      '',
    ].join('\n'),
  )
  await once(kmcp, 'exit')
} catch (error) {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`)
  await stopAll(1)
}

async function waitForListening(healthUrl: string): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      if ((await fetch(healthUrl)).ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`kmcp serve did not answer on ${healthUrl} within 30 s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
