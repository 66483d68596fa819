// The kube-apiserver harness a benchmark starts for itself (not a benchmark: smoke.ts skips it):
// CNPG CRDs and ClusterRoles installed, the state file the test helpers read, one namespace ready
// for cluster lists.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {installClusterRoles, installCrds, startHarness, stateFromKubeconfig} from '../../test/support/global-setup.ts'
import {STATE_ENV, expectStatus, rawRequest, waitFor, type Connection, type HarnessState} from '../../test/support/kube.ts'

export interface BenchCluster {
  state: HarnessState
  conn: Connection
  stop(): Promise<void>
}

export async function startBenchCluster(namespace: string): Promise<BenchCluster> {
  const harness = await startHarness()
  try {
    const state: HarnessState = {version: 1, dataDir: harness.dataDir, ...stateFromKubeconfig(harness.kubeconfigPath, harness.dataDir)}
    writeFileSync(join(harness.dataDir, 'state.json'), JSON.stringify(state))
    process.env[STATE_ENV] = join(harness.dataDir, 'state.json')
    const conn: Connection = {server: state.server, ca: readFileSync(state.caFile), token: state.tokens.admin}
    await installCrds(conn)
    await installClusterRoles(conn)
    expectStatus('namespace', await rawRequest(conn, 'POST', '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace}}), 201, 409)
    // Just after start-up the API server answers 429 while the CRD storage initialises.
    await waitFor(async () => (await rawRequest(conn, 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${namespace}/clusters`)).status === 200)
    return {state, conn, stop: async () => void (await harness.stop())}
  } catch (error) {
    await harness.stop()
    throw error
  }
}
