// The real demo: the CloudNativePG operator runs real PostgreSQL on a local node (kubelet +
// containerd inside the run's own network namespace, test/support/real-node.ts), and the sample
// clusters are created THROUGH kmcp, with MCP tool calls, exactly as an agent would.
import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'
import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {callWaiting, createArgsForNode} from '../../test/real-node/helpers.ts'
import {textOf} from '../../test/support/mcp.ts'
import {kubeRequest} from '../../test/support/kube.ts'
import {spawnNode} from '../node/runtime.mjs'

export interface StartedNode {
  netns: string
  /** What the supervisor reported (netns, storageClass, postgresImage, ...): the state file's realNode. */
  info: Record<string, unknown>
  stop(): Promise<void>
}

/** Why the real node cannot run here, or undefined when it can be tried. */
export function realNodeRefusal(): string | undefined {
  if (process.env.KMCP_REAL_NODE === '0') return 'KMCP_REAL_NODE=0 asks for the simulated demo'
  if (process.getuid?.() !== 0) return 'the real node (kubelet, containerd, network namespace) needs root; run "sudo npm run demo" for it'
  return undefined
}

/** Starts the node and the operator watching `namespace` (scripts/node/runtime.mjs, as a supervised child process). */
export async function startDemoNode(options: {stateFile: string; namespace: string; runDir: string; logFile: string}): Promise<StartedNode> {
  mkdirSync(dirname(options.logFile), {recursive: true})
  // The first run builds the node's components and images: allow an hour, as the test setup does.
  const node = await spawnNode({stateFile: options.stateFile, watchNamespaces: [options.namespace], runDir: options.runDir, logFile: options.logFile, readyTimeoutMs: 60 * 60_000})
  const info = node.info as {netns: string}
  return {
    netns: info.netns,
    info: node.info as Record<string, unknown>,
    stop: async () => {
      await node.stop()
    },
  }
}

/** One MCP tool call, echoed to stderr so the person running the demo sees each step happen. */
export async function callAndShow(client: Client, say: (line: string) => void, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  say(`-> ${name} ${JSON.stringify(args)}`)
  const result = await callWaiting(client, name, args)
  const text = textOf(result)
  say(`<- ${result.isError ? 'ERROR ' : ''}${text.split('\n').slice(0, 6).join('\n   ')}${text.split('\n').length > 6 ? '\n   ...' : ''}`)
  if (result.isError) throw new Error(`${name} failed: ${text}`)
  return result
}

/** The sample clusters, created through kmcp: orders-db (3 instances) and app-db with a role and a database. */
export async function createSampleClusters(client: Client, namespace: string, say: (line: string) => void): Promise<string[]> {
  await callAndShow(client, say, 'create_postgres_cluster', {...(await createArgsForNode('orders-db', namespace, 3)), wait: true, timeout: 300})
  await callAndShow(client, say, 'create_postgres_cluster', {...(await createArgsForNode('app-db', namespace, 1)), wait: true, timeout: 240})
  await callAndShow(client, say, 'create_postgres_role', {cluster_name: 'app-db', role_name: 'reporter', in_roles: ['pg_read_all_data'], namespace})
  await callAndShow(client, say, 'create_postgres_database', {cluster_name: 'app-db', database_name: 'reporting', owner: 'app', namespace})
  await callAndShow(client, say, 'list_postgres_clusters', {namespace})
  return ['orders-db', 'app-db']
}

/** How to reach each cluster with psql from this machine: inside the run's network namespace. */
export async function psqlInstructions(namespace: string, clusters: string[], netns: string, kubeconfig: string): Promise<string[]> {
  const lines = ['Connect with psql (the services live in the node\'s network namespace, reached with ip netns exec):']
  for (const cluster of clusters) {
    const service = await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/services/${cluster}-rw`)
    const clusterIp = service.status === 200 ? service.body.spec.clusterIP : `${cluster}-rw.${namespace}.svc.cluster.local`
    const password = `$(kubectl --kubeconfig ${kubeconfig} get secret ${cluster}-app -n ${namespace} -o jsonpath='{.data.password}' | base64 -d)`
    lines.push(`  ${cluster}:  sudo ip netns exec ${netns} env PGPASSWORD="${password}" psql "host=${clusterIp} port=5432 user=app dbname=app"`)
  }
  lines.push(`  (the -rw service address is the primary; ${clusters[0]}-ro is a replica. Roles made with create_postgres_role have their own Secret: get_connection_info tells which.)`)
  return lines
}
