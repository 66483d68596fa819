// list_postgres_clusters over 500 clusters vs the bare list request it makes (issue: foundation).
//   node --no-warnings scripts/bench/list-clusters.ts [--clusters 500] [--runs 15] [--binary dist/kmcp] [--no-write] [--smoke]
// Starts its own kube-apiserver harness, creates the clusters (with a plausible status), then, in
// the same run and alternating, measures as medians over --runs:
//   bare   one authenticated GET of the cluster list over a kept-alive HTTPS connection, body
//          read and parsed as JSON (what any client must do at least)
//   tool   tools/call list_postgres_clusters {namespace} through a real MCP client over stdio to
//          the compiled kmcp (response budget applied, text rendered, structured content sent)
// Target: tool <= 1.25 x bare.
import {readFileSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {performance} from 'node:perf_hooks'
import {Agent, request} from 'undici'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import {installClusterRoles, installCrds, startHarness, stateFromKubeconfig} from '../../test/support/global-setup.ts'
import {STATE_ENV, type Connection, rawRequest, expectStatus} from '../../test/support/kube.ts'
import {clusterManifest, healthyClusterStatus} from '../../test/support/operator.ts'

import {machineLoad, median, option, recordRun, smoke} from './report.ts'

const clusters = smoke ? 5 : Number(option('--clusters', '500'))
const runs = smoke ? 1 : Number(option('--runs', '15'))
const binary = resolve(option('--binary', 'dist/kmcp'))
const loadAtStart = machineLoad()

const harness = await startHarness()
try {
  const state = {version: 1 as const, dataDir: harness.dataDir, ...stateFromKubeconfig(harness.kubeconfigPath, harness.dataDir)}
  writeFileSync(join(harness.dataDir, 'state.json'), JSON.stringify(state))
  process.env[STATE_ENV] = join(harness.dataDir, 'state.json')
  const ca = readFileSync(state.caFile)
  const conn: Connection = {server: state.server, ca, token: state.tokens.admin}
  await installCrds(conn)
  await installClusterRoles(conn)
  const namespace = 'bench'
  expectStatus('namespace', await rawRequest(conn, 'POST', '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace}}), 201)
  const base = `/apis/postgresql.cnpg.io/v1/namespaces/${namespace}/clusters`
  for (let start = 0; start < clusters; start += 25) {
    await Promise.all(
      Array.from({length: Math.min(25, clusters - start)}, async (_, i) => {
        const name = `bench-db-${start + i}`
        expectStatus('create', await rawRequest(conn, 'POST', base, clusterManifest(namespace, name, {instances: 3})), 201)
        expectStatus('status', await rawRequest(conn, 'PATCH', `${base}/${name}/status`, {status: healthyClusterStatus(name, {instances: 3})}, {contentType: 'application/merge-patch+json'}), 200)
      }),
    )
  }
  process.stderr.write(`bench: created ${clusters} clusters\n`)

  const dispatcher = new Agent({connect: {ca}})
  const bare = async () => {
    const started = performance.now()
    const response = await request(`${state.server}${base}`, {headers: {authorization: `Bearer ${state.tokens.admin}`, accept: 'application/json'}, dispatcher})
    const list = (await response.body.json()) as {items: unknown[]}
    if (list.items.length !== clusters) throw new Error(`listed ${list.items.length}`)
    return performance.now() - started
  }
  const client = new Client({name: 'bench', version: '1'})
  await client.connect(new StdioClientTransport({command: binary, args: ['serve', '--kubeconfig', state.kubeconfigs.admin], env: {}, stderr: 'ignore'}))
  const tool = async () => {
    const started = performance.now()
    const result = (await client.callTool({name: 'list_postgres_clusters', arguments: {namespace}})) as {isError?: boolean; structuredContent?: {count: number}}
    if (result.isError) throw new Error('tool failed')
    return performance.now() - started
  }
  // Warm-up: connection set-up, the lazy Kubernetes client, JIT.
  for (let i = 0; i < 3; i++) {
    await bare()
    await tool()
  }
  const bareTimes: number[] = []
  const toolTimes: number[] = []
  for (let i = 0; i < runs; i++) {
    bareTimes.push(await bare())
    toolTimes.push(await tool())
  }
  await client.close()
  const ratio = median(toolTimes) / median(bareTimes)
  const lines = [
    `clusters: ${clusters}, runs: ${runs}, binary: ${binary}`,
    `bare list request:              median ${median(bareTimes).toFixed(1)} ms (min ${Math.min(...bareTimes).toFixed(1)})`,
    `list_postgres_clusters (MCP):   median ${median(toolTimes).toFixed(1)} ms (min ${Math.min(...toolTimes).toFixed(1)})`,
    `ratio tool / bare:              ${ratio.toFixed(2)}  (target <= 1.25)`,
  ]
  console.log(lines.join('\n'))
  recordRun('list_postgres_clusters over many clusters (scripts/bench/list-clusters.ts)', loadAtStart, lines.join('\n'))
} finally {
  await harness.stop()
}
