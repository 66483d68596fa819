// Global setup for `node --test --test-global-setup=test/support/global-setup.ts`.
//
// globalSetup (in the test-runner process, before any test file runs):
//   1. builds .cache/bin/kube-harness if it is missing or stale (scripts/build-tools.mjs),
//   2. starts ONE harness (embedded etcd + kube-apiserver v1.36.3 + namespace/GC controllers),
//   3. installs the CNPG v1.30.0 CRDs (POST create) and waits until they are Established,
//   4. installs the CNPG chart's view/edit ClusterRoles,
//   5. writes the state file (see HarnessState in kube.ts) and exports its path in
//      KMCP_TEST_HARNESS_STATE (+ KMCP_TEST_KUBECONFIG, KMCP_TEST_KUBE_SERVER). Node's test runner
//      spawns test-file processes with this process's environment, so they inherit it.
// globalTeardown: SIGTERM, wait (deadline), SIGKILL if needed, and make sure the data dir is gone.
//
// Environment:
//   KMCP_CNPG_CRDS_DIR        CRD directory (default: taken from the CNPG Go module by scripts/node/cnpg.mjs)
//   KMCP_CNPG_CLUSTERROLES    ClusterRoles YAML (default test/fixtures/cnpg-chart-clusterroles.yaml)
//   KMCP_TEST_HARNESS_STATE   where to write the state file (default <harness data dir>/harness-state.json)
//   KMCP_TEST_KUBECONFIG      reuse an already running harness/cluster: a kubeconfig with users
//                             admin, alice, bob, nobody (e.g. one written by kube-harness). Nothing
//                             is started or stopped then.
//   KMCP_KUBE_HARNESS_BIN     use this kube-harness binary instead of building one
//   KMCP_REAL_NODE            0: no real node; 1: the real node must start; unset: start it as root
//                             (test/support/real-node-setup.ts, scripts/node/runtime.mjs)
//   KMCP_REAL_NODE_EXTRA_NAMESPACES  more namespaces for the real CNPG operator to watch
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'
import YAML from 'yaml'
import {ensureKubeHarness} from '../../scripts/build-tools.mjs'
import {ensureCnpgCrds} from '../../scripts/node/cnpg.mjs'
import {startRealNode, stopRealNode} from './real-node-setup.ts'
import {expectStatus, rawRequest, STATE_ENV, USERS, type Connection, type HarnessState, type User} from './kube.ts'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const READY_TIMEOUT_MS = 150_000
const ESTABLISHED_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 20_000

function say(message: string): void {
  process.stderr.write(`kube-harness: ${message}\n`)
}

export interface StartedHarness {
  child: ChildProcess
  pid: number
  server: string
  kubeconfigPath: string
  dataDir: string
  logFile: string
  /** Our own diagnostics the harness wrote to its stderr. */
  stderr(): string
  /** SIGTERM, wait up to timeoutMs, then SIGKILL. Resolves with how it ended. Deletes the log after a clean exit unless keepLog. */
  stop(timeoutMs?: number): Promise<{code: number | null; signal: NodeJS.Signals | null; killed: boolean}>
}

/**
 * Spawns a kube-harness and waits for its READY line. stdin stays an open pipe: the harness exits
 * as soon as it is closed, so it never outlives this process.
 */
export async function startHarness(options: {bin?: string; args?: string[]; logFile?: string; readyTimeoutMs?: number; keepLog?: boolean} = {}): Promise<StartedHarness> {
  const bin = options.bin ?? (await ensureKubeHarness())
  const logFile = options.logFile ?? join(REPO_ROOT, '.cache', 'logs', `kube-harness-${process.pid}-${Date.now()}.log`)
  mkdirSync(dirname(logFile), {recursive: true})
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS
  const child = spawn(bin, ['--log-file', logFile, '--watch-stdin=true', `--ready-timeout=${Math.round(readyTimeoutMs / 1000)}s`, ...(options.args ?? [])], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let errText = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (d: string) => {
    errText += d
  })
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((res) => {
    child.once('exit', (code, signal) => res({code, signal}))
  })
  const ready = await new Promise<{server: string; kubeconfig: string}>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      rej(new Error(`kube-harness did not print READY within ${readyTimeoutMs / 1000}s; see ${logFile}`))
    }, readyTimeoutMs + 10_000)
    child.once('error', (e) => {
      clearTimeout(timer)
      rej(new Error(`cannot start ${bin}: ${e.message}`))
    })
    void exited.then(({code, signal}) => {
      clearTimeout(timer)
      const last = errText.trim().split('\n').filter(Boolean).pop() ?? ''
      let logHint = `; log: ${logFile}`
      try {
        if (statSync(logFile).size === 0) {
          rmSync(logFile, {force: true})
          logHint = ''
        }
      } catch {}
      rej(new Error(`kube-harness exited before it was ready (${signal ?? `exit ${code}`}): ${last || 'no message'}${logHint}`))
    })
    const lines = createInterface({input: child.stdout!})
    lines.on('line', (line) => {
      const m = /^READY (\S+) (.+)$/.exec(line)
      if (m) {
        clearTimeout(timer)
        res({server: m[1], kubeconfig: m[2]})
      }
    })
  })
  // Do not let the harness's pipes keep the runner alive; stdin itself stays open (never ended).
  child.unref()
  for (const s of [child.stdin, child.stdout, child.stderr] as Array<any>) s?.unref?.()
  const pid = child.pid!
  return {
    child,
    pid,
    server: ready.server,
    kubeconfigPath: ready.kubeconfig,
    dataDir: dirname(ready.kubeconfig),
    logFile,
    stderr: () => errText,
    async stop(timeoutMs = STOP_TIMEOUT_MS) {
      let result: {code: number | null; signal: NodeJS.Signals | null; killed: boolean}
      if (child.exitCode !== null || child.signalCode !== null) {
        result = {...(await exited), killed: false}
      } else {
        child.kill('SIGTERM')
        let timer: NodeJS.Timeout | undefined
        const timedOut = new Promise<'timeout'>((res) => {
          timer = setTimeout(() => res('timeout'), timeoutMs)
        })
        const first = await Promise.race([exited, timedOut])
        clearTimeout(timer)
        if (first !== 'timeout') {
          result = {...first, killed: false}
        } else {
          say(`pid ${pid} did not stop within ${timeoutMs / 1000}s after SIGTERM; sending SIGKILL`)
          child.kill('SIGKILL')
          result = {...(await exited), killed: true}
        }
      }
      // Keep the component log only when something went wrong.
      if (!result.killed && result.code === 0 && !options.keepLog) rmSync(logFile, {force: true})
      return result
    },
  }
}

// ---------------------------------------------------------------------------------------------
// CRDs and ClusterRoles

function readYamlDocuments(file: string): any[] {
  return YAML.parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS({maxAliasCount: -1}))
    .filter((o) => o && typeof o === 'object')
}

/**
 * The CNPG v1.30.0 CRDs: KMCP_CNPG_CRDS_DIR when set, else the copy scripts/node/cnpg.mjs takes from the
 * CloudNativePG Go module (fetched through the Go module proxy, checksum pinned in the repo, cached).
 */
export async function cnpgCrdsDir(): Promise<string> {
  if (process.env.KMCP_CNPG_CRDS_DIR) return resolve(process.env.KMCP_CNPG_CRDS_DIR)
  return (await ensureCnpgCrds()).crdsDir
}

/** The CNPG chart's view/edit ClusterRoles: KMCP_CNPG_CLUSTERROLES when set, else the project's fixture. */
export function cnpgClusterRolesFile(): string {
  return process.env.KMCP_CNPG_CLUSTERROLES ? resolve(process.env.KMCP_CNPG_CLUSTERROLES) : join(REPO_ROOT, 'test', 'fixtures', 'cnpg-chart-clusterroles.yaml')
}

/** Creates every CRD in `dir` (409 AlreadyExists is fine) and waits until all are Established. */
export async function installCrds(conn: Connection, crdsDir?: string): Promise<string[]> {
  const dir = crdsDir ?? (await cnpgCrdsDir())
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)) : []
  if (files.length === 0) {
    throw new Error(`CNPG CRDs not found: no *.yaml in ${dir} (set KMCP_CNPG_CRDS_DIR to the directory holding postgresql.cnpg.io_*.yaml)`)
  }
  const names: string[] = []
  await Promise.all(
    files.sort().flatMap((f) =>
      readYamlDocuments(join(dir, f))
        .filter((o) => o.kind === 'CustomResourceDefinition')
        .map(async (crd) => {
          names.push(crd.metadata.name)
          const res = await rawRequest(conn, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd, {timeoutMs: 60_000})
          expectStatus(`create CRD ${crd.metadata.name} from ${f}`, res, 201, 409)
        }),
    ),
  )
  const deadline = Date.now() + ESTABLISHED_TIMEOUT_MS
  for (const name of names) {
    for (;;) {
      const res = await rawRequest(conn, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)
      const established = res.status === 200 && (res.body?.status?.conditions ?? []).some((c: any) => c.type === 'Established' && c.status === 'True')
      if (established) break
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established within ${ESTABLISHED_TIMEOUT_MS / 1000}s`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return names.sort()
}

/** Creates the ClusterRoles in `file` (409 AlreadyExists is fine). */
export async function installClusterRoles(conn: Connection, file = cnpgClusterRolesFile()): Promise<string[]> {
  if (!existsSync(file)) {
    throw new Error(`CNPG chart ClusterRoles not found: ${file} does not exist (set KMCP_CNPG_CLUSTERROLES to the YAML file)`)
  }
  const names: string[] = []
  for (const role of readYamlDocuments(file).filter((o) => o.kind === 'ClusterRole')) {
    const res = await rawRequest(conn, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', role)
    expectStatus(`create ClusterRole ${role.metadata.name}`, res, 201, 409)
    names.push(role.metadata.name)
  }
  return names
}

// ---------------------------------------------------------------------------------------------
// State

/** Reads tokens/server/CA from a kube-harness kubeconfig and writes one kubeconfig per user into dir. */
export function stateFromKubeconfig(kubeconfigPath: string, dir: string): Omit<HarnessState, 'dataDir' | 'version'> {
  const config = YAML.parse(readFileSync(kubeconfigPath, 'utf8'))
  const cluster = config.clusters?.[0]?.cluster
  if (!cluster?.server || !cluster['certificate-authority']) throw new Error(`${kubeconfigPath}: expected a cluster with server and certificate-authority`)
  const tokens = {} as Record<User, string>
  const kubeconfigs = {} as Record<User, string>
  for (const user of USERS) {
    const token = config.users?.find((u: any) => u.name === user)?.user?.token
    if (!token) throw new Error(`${kubeconfigPath}: no token for user "${user}"`)
    tokens[user] = token
    const file = join(dir, `kubeconfig-${user}`)
    writeFileSync(file, YAML.stringify({...config, 'current-context': user}), {mode: 0o600})
    kubeconfigs[user] = file
  }
  return {server: cluster.server, caFile: resolve(dirname(kubeconfigPath), cluster['certificate-authority']), kubeconfigPath, kubeconfigs, tokens}
}

let started: StartedHarness | undefined

export async function globalSetup(): Promise<void> {
  const t0 = Date.now()
  let state: HarnessState
  const external = process.env.KMCP_TEST_KUBECONFIG
  if (external) {
    const dir = mkdtempSync(join(tmpdir(), 'kmcp-test-kubeconfigs-'))
    state = {version: 1, dataDir: dir, ...stateFromKubeconfig(resolve(external), dir)}
    say(`reusing the cluster of ${external} (${state.server})`)
  } else {
    started = await startHarness()
    state = {
      version: 1,
      dataDir: started.dataDir,
      pid: started.pid,
      logFile: started.logFile,
      ...stateFromKubeconfig(started.kubeconfigPath, started.dataDir),
    }
  }
  try {
    const conn: Connection = {server: state.server, ca: readFileSync(state.caFile), token: state.tokens.admin}
    const version = await rawRequest(conn, 'GET', '/version')
    state.kubernetesVersion = version.body?.gitVersion
    const crds = await installCrds(conn)
    const roles = await installClusterRoles(conn)
    const stateFile = process.env[STATE_ENV] ? resolve(process.env[STATE_ENV]!) : join(state.dataDir, 'harness-state.json')
    mkdirSync(dirname(stateFile), {recursive: true})
    writeFileSync(stateFile, JSON.stringify(state, null, 2) + '\n', {mode: 0o600})
    process.env[STATE_ENV] = stateFile
    process.env.KMCP_TEST_KUBECONFIG_ADMIN = state.kubeconfigs.admin
    process.env.KMCP_TEST_KUBE_SERVER = state.server
    // The real node (root only): its supervisor reads the state file; what it reports goes back in.
    const realNode = await startRealNode(stateFile, join(REPO_ROOT, '.cache', 'logs'))
    writeFileSync(stateFile, JSON.stringify({...state, realNode}, null, 2) + '\n', {mode: 0o600})
    say(
      `${state.kubernetesVersion ?? '?'} ready at ${state.server} in ${((Date.now() - t0) / 1000).toFixed(1)}s ` +
        `(${crds.length} CRDs, ${roles.length} ClusterRoles)` +
        (started ? `; pid ${started.pid}, log ${started.logFile}` : ''),
    )
  } catch (error) {
    await globalTeardown()
    throw error
  }
}

export async function globalTeardown(): Promise<void> {
  await stopRealNode()
  const h = started
  started = undefined
  if (!h) return
  const result = await h.stop()
  if (existsSync(h.dataDir)) {
    say(`data dir ${h.dataDir} was left behind (${result.killed ? 'SIGKILL' : `exit ${result.code}`}); removing it`)
    rmSync(h.dataDir, {recursive: true, force: true})
  }
  if (result.killed || result.code !== 0) say(`harness ended with ${result.signal ?? `exit ${result.code}`}; log kept: ${h.logFile}`)
}
