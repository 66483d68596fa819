// Starts and stops the real node for global-setup.ts (see real-node.ts and docs/kube-harness.md).
//
//   KMCP_REAL_NODE=0                      never start it: tests that need it are skipped with the reason
//   KMCP_REAL_NODE=1                      it must start: a failure fails the whole test run
//   (unset)                               start it when running as root; a failure is reported once
//                                         and the tests that need it are skipped with the error
//   KMCP_REAL_NODE_EXTRA_NAMESPACES=a,b   more namespaces for the operator to watch
// Only erasable TypeScript syntax: this file runs under Node's type stripping.
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {spawnNode} from '../../scripts/node/runtime.mjs'
import {REAL_NODE_NAMESPACES, type RealNode} from './real-node.ts'

type SpawnedNode = Awaited<ReturnType<typeof spawnNode>>
let node: SpawnedNode | undefined

function say(message: string): void {
  process.stderr.write(`real-node: ${message}\n`)
}

/** Why the node is not started on this machine/run, or undefined when it should be. */
export function realNodeSkipReason(): string | undefined {
  if (process.env.KMCP_REAL_NODE === '0') return 'KMCP_REAL_NODE=0'
  if (process.getuid?.() !== 0) return 'the real node (kubelet, containerd, network namespaces) needs root; run the tests as root'
  return undefined
}

export function realNodeNamespaces(): string[] {
  const extra = (process.env.KMCP_REAL_NODE_EXTRA_NAMESPACES ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  return [...new Set([...REAL_NODE_NAMESPACES, ...extra])]
}

/** Starts the node for the harness described by stateFile; returns what goes into the state file. */
export async function startRealNode(stateFile: string, logDir: string): Promise<RealNode> {
  const skip = realNodeSkipReason()
  if (skip) return {available: false, reason: skip}
  mkdirSync(logDir, {recursive: true})
  const logFile = join(logDir, `real-node-${process.pid}-${Date.now()}.log`)
  const t0 = Date.now()
  try {
    node = await spawnNode({stateFile, watchNamespaces: realNodeNamespaces(), logFile, readyTimeoutMs: 60 * 60_000})
  } catch (error) {
    const reason = `the real node failed to start: ${(error as Error).message}`
    if (process.env.KMCP_REAL_NODE === '1') throw new Error(reason, {cause: error})
    say(`${reason} (tests that need it are skipped; KMCP_REAL_NODE=1 makes this fatal)`)
    return {available: false, reason}
  }
  const info = node.info as Record<string, any>
  say(`node Ready with the CNPG operator in ${((Date.now() - t0) / 1000).toFixed(1)}s (netns ${info.netns}, supervisor pid ${node.pid}); log ${logFile}, component logs ${info.logDir}`)
  return {
    available: true,
    netns: info.netns,
    storageClass: info.storageClass,
    postgresImage: info.postgresImage,
    postgresVersion: info.postgresVersion,
    operatorImage: info.operatorImage,
    pgbouncerImage: info.pgbouncerImage,
    operatorNamespace: info.operatorNamespace,
    nodeName: info.nodeName,
    nodeIp: info.nodeIp,
    hostIp: info.hostIp,
    dnsIp: info.dnsIp,
    runDir: info.runDir,
    logDir: info.logDir,
    watchNamespaces: info.watchNamespaces,
    pid: node.pid!,
  }
}

export async function stopRealNode(): Promise<void> {
  const n = node
  node = undefined
  if (!n) return
  const t0 = Date.now()
  const result = await n.stop()
  say(`stopped in ${((Date.now() - t0) / 1000).toFixed(1)}s (${result.signal ?? `exit ${result.code}`})`)
}
