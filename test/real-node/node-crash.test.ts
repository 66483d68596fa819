// A crashed run never breaks the next one: a node supervisor killed with SIGKILL (leaving its
// containers, network namespace, mounts and cgroups behind) is cleaned up by the next start, which
// becomes healthy; a normal stop then leaves nothing at all. Runs its own kube-harness so the shared
// node of the test run is not disturbed.
import {after, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {spawnNode} from '../../scripts/node/runtime.mjs'
import {REGISTRY_DIR} from '../../scripts/node/runtime-sys.mjs'
import {installCrds, startHarness, stateFromKubeconfig, type StartedHarness} from '../support/global-setup.ts'
import {rawRequest, type Connection} from '../support/kube.ts'
import {clusterManifestForNode, psql, skipUnlessRealNode, waitForHealthyCluster} from '../support/real-node.ts'

type Node = Awaited<ReturnType<typeof spawnNode>>

function leftoversOf(info: {id: string; netns: string; runDir: string}): string[] {
  const found: string[] = []
  if (existsSync(`/run/netns/${info.netns}`)) found.push(`netns ${info.netns}`)
  if (existsSync(info.runDir)) found.push(`run dir ${info.runDir}`)
  if (existsSync(join(REGISTRY_DIR, 'runs', `${info.id}.json`))) found.push('registry entry')
  for (const h of readdirSync('/sys/fs/cgroup')) if (existsSync(join('/sys/fs/cgroup', h, `kmcp-${info.id}`))) found.push(`cgroup ${h}/kmcp-${info.id}`)
  if (readFileSync('/proc/self/mountinfo', 'utf8').includes(info.runDir)) found.push('mounts')
  return found
}

describe('real node: crash recovery', {timeout: 900_000}, () => {
  let harness: StartedHarness | undefined
  const nodes: Node[] = []

  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {})
    await harness?.stop()
  })

  test('start, SIGKILL the supervisor, start again: the leftovers are removed and a Cluster becomes healthy; stop leaves nothing', {timeout: 900_000}, async (t) => {
    if (!skipUnlessRealNode(t)) return
    harness = await startHarness()
    const dir = mkdtempSync(join(tmpdir(), 'kmcp-crash-'))
    const state = {version: 1, dataDir: harness.dataDir, ...stateFromKubeconfig(harness.kubeconfigPath, dir)}
    const stateFile = join(dir, 'state.json')
    writeFileSync(stateFile, JSON.stringify(state))
    const conn: Connection = {server: state.server, ca: readFileSync(state.caFile), token: state.tokens.admin}
    await installCrds(conn)

    // 1. A node with a running pod, then SIGKILL of its supervisor.
    const first = await spawnNode({stateFile, watchNamespaces: ['crash-a'], logFile: join(dir, 'first.log')})
    nodes.push(first)
    const pod = {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'sleeper', namespace: 'crash-a'}, spec: {containers: [{name: 'pause', image: first.info.pauseImage, imagePullPolicy: 'Never'}], terminationGracePeriodSeconds: 0}}
    const made = await rawRequest(conn, 'POST', '/api/v1/namespaces/crash-a/pods', pod)
    assert.equal(made.status, 201, made.text)
    for (let i = 0; ; i++) {
      const p = await rawRequest(conn, 'GET', '/api/v1/namespaces/crash-a/pods/sleeper')
      if (p.body?.status?.phase === 'Running') break
      assert.ok(i < 120, `pod not Running: ${JSON.stringify(p.body?.status)}`)
      await new Promise((r) => setTimeout(r, 1000))
    }
    first.child.kill('SIGKILL')
    await new Promise((r) => first.child.once('exit', r))
    await new Promise((r) => setTimeout(r, 2000))
    assert.ok(leftoversOf(first.info).includes(`netns ${first.info.netns}`), 'the killed run left its network namespace behind')

    // 2. The next start removes them and works.
    const second = await spawnNode({stateFile, watchNamespaces: ['crash-b'], logFile: join(dir, 'second.log')})
    nodes.push(second)
    assert.deepEqual(leftoversOf(first.info), [], 'leftovers of the killed run are gone')
    const cluster = clusterManifestForNode('phoenix', {namespace: 'crash-b'})
    cluster.spec.imageName = second.info.postgresImage
    const createdCluster = await rawRequest(conn, 'POST', '/apis/postgresql.cnpg.io/v1/namespaces/crash-b/clusters', cluster)
    assert.equal(createdCluster.status, 201, createdCluster.text)
    await waitForHealthyCluster(async () => (await rawRequest(conn, 'GET', '/apis/postgresql.cnpg.io/v1/namespaces/crash-b/clusters/phoenix')).body, 480_000)
    const secret = await rawRequest(conn, 'GET', '/api/v1/namespaces/crash-b/secrets/phoenix-app')
    const field = (k: string) => Buffer.from(secret.body.data[k], 'base64').toString('utf8')
    // "Healthy" can come a moment before kube-proxy has the -rw Service's endpoint (until then it
    // refuses connections): retry briefly.
    let result = await psql('crash-b', 'select 40 + 2', {host: 'phoenix-rw', user: field('username'), password: field('password'), database: 'app', netns: second.info.netns})
    for (let i = 0; result.code !== 0 && i < 30; i++) {
      await new Promise((r) => setTimeout(r, 2000))
      result = await psql('crash-b', 'select 40 + 2', {host: 'phoenix-rw', user: field('username'), password: field('password'), database: 'app', netns: second.info.netns})
    }
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout.trim(), '42')

    // 3. A normal stop leaves nothing behind.
    const stopped = await second.stop()
    assert.equal(stopped.code, 0)
    assert.deepEqual(leftoversOf(second.info), [])
  })
})
