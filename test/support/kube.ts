// Test helpers for the real kube-apiserver started by test/support/global-setup.ts.
//
// The global setup (running in the test-runner process) starts ONE harness and writes its
// connection details to a JSON state file whose path it puts in KMCP_TEST_HARNESS_STATE; Node's
// test runner passes that environment on to every test-file process. Everything here talks to the
// apiserver over plain node:https with the harness CA and bearer tokens (no client library).
// Only erasable TypeScript syntax: this file runs under Node's type stripping.
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import https from 'node:https'
import YAML from 'yaml'

export type User = 'admin' | 'alice' | 'bob' | 'nobody'
export const USERS: readonly User[] = ['admin', 'alice', 'bob', 'nobody']

/** Contents of the state file (KMCP_TEST_HARNESS_STATE). */
export interface HarnessState {
  version: 1
  /** https://127.0.0.1:<port> */
  server: string
  /** CA bundle for the apiserver's self-signed serving certificate. */
  caFile: string
  /** kubeconfig with contexts admin, alice, bob, nobody; current-context admin. */
  kubeconfigPath: string
  /** One kubeconfig per user whose current-context is that user. */
  kubeconfigs: Record<User, string>
  tokens: Record<User, string>
  /** The harness process (absent when an external cluster is reused via KMCP_TEST_KUBECONFIG). */
  pid?: number
  dataDir: string
  logFile?: string
  kubernetesVersion?: string
}

export interface Harness extends HarnessState {
  /** Path of a kubeconfig whose current-context is `user`. */
  kubeconfigFor(user: User): string
}

export const STATE_ENV = 'KMCP_TEST_HARNESS_STATE'

let cached: Harness | undefined

/** Connection details of the shared test harness. Throws a clear error when there is none. */
export function harness(): Harness {
  if (cached) return cached
  const file = process.env[STATE_ENV]
  if (!file) {
    throw new Error(`no Kubernetes test harness: ${STATE_ENV} is not set. Run the tests with "npm test" (or node --test --test-global-setup=test/support/global-setup.ts ...).`)
  }
  let state: HarnessState
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as HarnessState
  } catch (error) {
    throw new Error(`cannot read the harness state file ${file} (${STATE_ENV}): ${(error as Error).message}`, {cause: error})
  }
  cached = {
    ...state,
    kubeconfigFor(user: User): string {
      const path = state.kubeconfigs[user]
      if (!path) throw new Error(`unknown harness user "${user}" (known: ${USERS.join(', ')})`)
      return path
    },
  }
  return cached
}

// ---------------------------------------------------------------------------------------------
// Raw requests

/** Connection to an apiserver: used by harness() callers and by the global setup itself. */
export interface Connection {
  server: string
  ca: string | Buffer
  token: string
}

export type QueryValue = string | number | boolean | undefined | null | readonly string[]

export interface RequestOptions {
  /**
   * Request body content type. Defaults to application/json, or application/merge-patch+json for
   * PATCH. Short aliases: 'json', 'merge', 'strategic', 'json-patch', 'apply'.
   */
  contentType?: string
  query?: Record<string, QueryValue>
  headers?: Record<string, string>
  /** Shorthands for the query parameters fieldManager, force and dryRun=All. */
  fieldManager?: string
  force?: boolean
  dryRun?: boolean
  timeoutMs?: number
}

export interface KubeResponse<T = any> {
  status: number
  /** Parsed JSON when the response was JSON, otherwise the text (or undefined when empty). */
  body: T
  text: string
  headers: Record<string, string | string[] | undefined>
}

const CONTENT_TYPES: Record<string, string> = {
  json: 'application/json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  'json-patch': 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
  yaml: 'application/yaml',
}

const agents = new Map<string, https.Agent>()
function agentFor(ca: string | Buffer): https.Agent {
  const key = typeof ca === 'string' ? ca : ca.toString('utf8')
  let agent = agents.get(key)
  if (!agent) {
    agent = new https.Agent({ca, keepAlive: true, maxSockets: 16})
    agents.set(key, agent)
  }
  return agent
}

function buildPath(path: string, options: RequestOptions, contentType: string): string {
  const params = new URLSearchParams()
  const [base, existing] = path.split('?', 2)
  if (existing) for (const [k, v] of new URLSearchParams(existing)) params.append(k, v)
  for (const [k, v] of Object.entries(options.query ?? {})) {
    if (v === undefined || v === null) continue
    if (Array.isArray(v)) for (const item of v) params.append(k, String(item))
    else params.set(k, String(v))
  }
  if (options.fieldManager) params.set('fieldManager', options.fieldManager)
  if (options.force !== undefined) params.set('force', String(options.force))
  if (options.dryRun) params.set('dryRun', 'All')
  if (contentType === 'application/apply-patch+yaml' && !params.has('fieldManager')) params.set('fieldManager', 'kmcp-test')
  const qs = params.toString()
  return qs ? `${base}?${qs}` : base
}

/** One HTTPS request to the apiserver. Never throws for HTTP errors: check `status`. */
export function rawRequest<T = any>(conn: Connection, method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<KubeResponse<T>> {
  method = method.toUpperCase()
  let contentType = options.contentType ?? (method === 'PATCH' ? 'application/merge-patch+json' : 'application/json')
  contentType = CONTENT_TYPES[contentType] ?? contentType
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
  const url = new URL(buildPath(path, options, contentType), conn.server)
  const headers: Record<string, string | number> = {
    Authorization: `Bearer ${conn.token}`,
    Accept: 'application/json',
    ...options.headers,
  }
  if (payload !== undefined) {
    headers['Content-Type'] = contentType
    headers['Content-Length'] = Buffer.byteLength(payload)
  }
  const timeoutMs = options.timeoutMs ?? 30_000
  return new Promise((resolve, reject) => {
    const req = https.request(url, {method, headers, agent: agentFor(conn.ca), timeout: timeoutMs}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed: any = text === '' ? undefined : text
        if (text && /json/.test(String(res.headers['content-type'] ?? ''))) {
          try {
            parsed = JSON.parse(text)
          } catch {}
        }
        resolve({status: res.statusCode ?? 0, body: parsed, text, headers: res.headers})
      })
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no response within ${timeoutMs} ms`)))
    req.on('error', (e) => reject(new Error(`${method} ${url.href}: ${e.message}`)))
    if (payload !== undefined) req.write(payload)
    req.end()
  })
}

const caCache = new Map<string, Buffer>()
function connectionFor(user: User | {token: string}): Connection {
  const h = harness()
  let ca = caCache.get(h.caFile)
  if (!ca) {
    ca = readFileSync(h.caFile)
    caCache.set(h.caFile, ca)
  }
  const token = typeof user === 'string' ? h.tokens[user] : user.token
  if (!token) throw new Error(`unknown harness user "${String(user)}" (known: ${USERS.join(', ')})`)
  return {server: h.server, ca, token}
}

/**
 * Raw API call as one of the harness users (or with an explicit bearer token). Body objects are
 * sent as JSON (JSON is valid YAML, so this also works for application/apply-patch+yaml).
 *
 *   kubeRequest('admin', 'PATCH', path, {spec: {instances: 2}})                       // merge patch
 *   kubeRequest('admin', 'PATCH', path, obj, {contentType: 'apply', force: true})      // server-side apply
 *   kubeRequest('alice', 'POST', path, obj, {dryRun: true})                            // dryRun=All
 */
export function kubeRequest<T = any>(user: User | {token: string}, method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<KubeResponse<T>> {
  return rawRequest<T>(connectionFor(user), method, path, body, options)
}

/** Error for an unexpected HTTP status, carrying the Status object the apiserver returned. */
export class KubeError extends Error {
  status: number
  body: any
  constructor(what: string, response: KubeResponse) {
    const message = typeof response.body === 'object' && response.body?.message ? response.body.message : response.text.slice(0, 500)
    super(`${what}: HTTP ${response.status}: ${message}`)
    this.name = 'KubeError'
    this.status = response.status
    this.body = response.body
  }
}

/** Throws KubeError unless response.status is one of `ok`. */
export function expectStatus<T>(what: string, response: KubeResponse<T>, ...ok: number[]): KubeResponse<T> {
  const accepted = ok.length > 0 ? ok : [200, 201, 202]
  if (!accepted.includes(response.status)) throw new KubeError(what, response)
  return response
}

// ---------------------------------------------------------------------------------------------
// Resource paths (discovery, cached per process)

interface ResourceInfo {
  plural: string
  namespaced: boolean
}
const discovery = new Map<string, Map<string, ResourceInfo>>()

/** API path prefix for a group/version: /api/v1 or /apis/<group>/<version>. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
}

export async function resourceInfo(apiVersion: string, kind: string, user: User = 'admin'): Promise<ResourceInfo> {
  let kinds = discovery.get(apiVersion)
  if (!kinds || !kinds.has(kind)) {
    const res = expectStatus(`discovery of ${apiVersion}`, await kubeRequest(user, 'GET', groupVersionPath(apiVersion)))
    kinds = new Map()
    for (const r of res.body.resources as Array<{name: string; kind: string; namespaced: boolean}>) {
      if (!r.name.includes('/')) kinds.set(r.kind, {plural: r.name, namespaced: r.namespaced})
    }
    discovery.set(apiVersion, kinds)
  }
  const info = kinds.get(kind)
  if (!info) throw new Error(`the apiserver does not serve kind ${kind} in ${apiVersion}`)
  return info
}

/** Collection or object path for a kind, e.g. /apis/postgresql.cnpg.io/v1/namespaces/ns/clusters/name. */
export async function resourcePath(apiVersion: string, kind: string, namespace?: string, name?: string): Promise<string> {
  const info = await resourceInfo(apiVersion, kind)
  let path = groupVersionPath(apiVersion)
  if (info.namespaced) {
    if (!namespace) throw new Error(`${kind} is namespaced: a namespace is required`)
    path += `/namespaces/${encodeURIComponent(namespace)}`
  }
  path += `/${info.plural}`
  if (name) path += `/${encodeURIComponent(name)}`
  return path
}

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: {name: string; namespace?: string; [key: string]: any}
  [key: string]: any
}

function objectPath(obj: KubeObject, withName: boolean, namespace?: string): Promise<string> {
  if (!obj?.apiVersion || !obj?.kind || !obj?.metadata?.name) throw new Error('object needs apiVersion, kind and metadata.name')
  return resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace ?? namespace, withName ? obj.metadata.name : undefined)
}

// ---------------------------------------------------------------------------------------------
// Object helpers (admin unless a user is given); all throw KubeError on unexpected statuses.

export interface ObjectOptions {
  user?: User
  namespace?: string
  dryRun?: boolean
}

/** POST the object; returns the created object. */
export async function createObject<T extends KubeObject = KubeObject>(obj: KubeObject, options: ObjectOptions = {}): Promise<T> {
  const path = await objectPath(obj, false, options.namespace)
  const res = await kubeRequest(options.user ?? 'admin', 'POST', path, obj, {dryRun: options.dryRun})
  return expectStatus(`create ${obj.kind} ${obj.metadata.name}`, res, 200, 201).body
}

/** GET an object; undefined when it does not exist. */
export async function getObject<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string, user: User = 'admin'): Promise<T | undefined> {
  const res = await kubeRequest(user, 'GET', await resourcePath(apiVersion, kind, namespace, name))
  if (res.status === 404) return undefined
  return expectStatus(`get ${kind} ${name}`, res, 200).body
}

/** DELETE an object; a missing object is fine. */
export async function deleteObject(obj: KubeObject, options: ObjectOptions = {}): Promise<void> {
  const res = await kubeRequest(options.user ?? 'admin', 'DELETE', await objectPath(obj, true, options.namespace), undefined, {dryRun: options.dryRun})
  expectStatus(`delete ${obj.kind} ${obj.metadata.name}`, res, 200, 202, 404)
}

export interface ApplyOptions extends ObjectOptions {
  fieldManager?: string
  force?: boolean
}

/**
 * Server-side apply (PATCH application/apply-patch+yaml, force=true by default) of one object, a
 * list of objects, or a YAML string with one or more documents. Returns the applied objects.
 */
export async function applyManifest(manifest: KubeObject | KubeObject[] | string, options: ApplyOptions = {}): Promise<KubeObject[]> {
  const objects: KubeObject[] =
    typeof manifest === 'string'
      ? YAML.parseAllDocuments(manifest)
          .map((d) => d.toJS())
          .filter((o) => o)
      : Array.isArray(manifest)
        ? manifest
        : [manifest]
  const out: KubeObject[] = []
  for (const obj of objects) {
    const path = await objectPath(obj, true, options.namespace)
    const res = await kubeRequest(options.user ?? 'admin', 'PATCH', path, obj, {
      contentType: 'application/apply-patch+yaml',
      fieldManager: options.fieldManager ?? 'kmcp-test',
      force: options.force ?? true,
      dryRun: options.dryRun,
    })
    out.push(expectStatus(`apply ${obj.kind} ${obj.metadata.name}`, res, 200, 201).body)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Namespaces and RBAC

/** Random lowercase suffix usable in DNS-1123 names. */
export function randomSuffix(length = 6): string {
  return randomBytes(length).toString('hex').slice(0, length)
}

/**
 * Creates a namespace named `<prefix>-<random>` (as admin) and returns its name. Namespaces are
 * unique per call, so tests never collide; they can be left behind (the harness is discarded).
 */
export async function createNamespace(prefix = 'test', labels: Record<string, string> = {}): Promise<string> {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 50) || 'test'
  const name = `${clean}-${randomSuffix()}`
  const res = await kubeRequest('admin', 'POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {name, labels: {'kmcp.test/namespace': 'true', ...labels}},
  })
  expectStatus(`create namespace ${name}`, res, 201)
  return name
}

/** Deletes a namespace (the embedded namespace controller then removes its contents). */
export async function deleteNamespace(name: string, options: {wait?: boolean; timeoutMs?: number} = {}): Promise<void> {
  expectStatus(`delete namespace ${name}`, await kubeRequest('admin', 'DELETE', `/api/v1/namespaces/${name}`), 200, 202, 404)
  if (options.wait) {
    await waitFor(async () => (await kubeRequest('admin', 'GET', `/api/v1/namespaces/${name}`)).status === 404, {
      timeoutMs: options.timeoutMs ?? 60_000,
      message: `namespace ${name} still exists`,
    })
  }
}

/** Name of the RoleBinding bindRole creates. */
export function roleBindingName(user: string, roleName: string): string {
  return `${user}-${roleName}`.slice(0, 253)
}

/**
 * Binds `user` to a ClusterRole (default) or Role inside `namespace` with a RoleBinding named
 * `<user>-<role>`. Already bound is fine. Returns the RoleBinding name.
 */
export async function bindRole(namespace: string, user: string, roleName: string, options: {roleKind?: 'ClusterRole' | 'Role'; subjectKind?: 'User' | 'Group'} = {}): Promise<string> {
  const name = roleBindingName(user, roleName)
  const res = await kubeRequest('admin', 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {name, namespace},
    roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: options.roleKind ?? 'ClusterRole', name: roleName},
    subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: options.subjectKind ?? 'User', name: user}],
  })
  expectStatus(`bind ${user} to ${roleName} in ${namespace}`, res, 201, 409)
  await waitForAuthorizer(namespace, user, options.subjectKind ?? 'User', options.roleKind ?? 'ClusterRole', roleName, true)
  return name
}

/**
 * The API server's RBAC authorizer learns of new and deleted bindings through a watch, a moment
 * after the write. Waits (at most 10 s) until a SubjectAccessReview for the role's first rule
 * gives the expected answer, so a test's next request sees the change.
 */
async function waitForAuthorizer(namespace: string, subject: string, subjectKind: 'User' | 'Group', roleKind: 'ClusterRole' | 'Role', roleName: string, allowed: boolean): Promise<void> {
  const rolePath = roleKind === 'ClusterRole' ? `/apis/rbac.authorization.k8s.io/v1/clusterroles/${roleName}` : `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles/${roleName}`
  const role = await kubeRequest('admin', 'GET', rolePath)
  const rule = (role.body?.rules as Array<{apiGroups?: string[]; resources?: string[]; verbs?: string[]}> | undefined)?.find((r) => r.resources?.length && r.verbs?.length)
  if (role.status !== 200 || !rule) return
  const spec = {
    ...(subjectKind === 'User' ? {user: subject} : {user: 'kmcp-test-probe', groups: [subject]}),
    resourceAttributes: {namespace, group: rule.apiGroups?.[0] ?? '', resource: rule.resources![0], verb: rule.verbs![0]},
  }
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const review = await kubeRequest('admin', 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec})
    if (review.status === 201 && Boolean(review.body?.status?.allowed) === allowed) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Removes the RoleBinding bindRole created. Missing is fine. */
export async function unbindRole(namespace: string, user: string, roleName: string): Promise<void> {
  const res = await kubeRequest('admin', 'DELETE', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings/${roleBindingName(user, roleName)}`)
  expectStatus(`unbind ${user} from ${roleName} in ${namespace}`, res, 200, 404)
  // Only a user bound by nothing else loses the right; other bindings may still grant it.
  if (res.status === 200) await waitForAuthorizer(namespace, user, 'User', 'ClusterRole', roleName, false)
}

/** Cluster-wide ClusterRoleBinding `<user>-<role>`; returns its name. Remember to unbind. */
export async function bindClusterRole(user: string, clusterRoleName: string, subjectKind: 'User' | 'Group' = 'User'): Promise<string> {
  const name = roleBindingName(user, clusterRoleName)
  const res = await kubeRequest('admin', 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: {name},
    roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRoleName},
    subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: subjectKind, name: user}],
  })
  expectStatus(`bind ${user} to ${clusterRoleName} cluster-wide`, res, 201, 409)
  return name
}

export async function unbindClusterRole(user: string, clusterRoleName: string): Promise<void> {
  const res = await kubeRequest('admin', 'DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${roleBindingName(user, clusterRoleName)}`)
  expectStatus(`unbind ${user} from ${clusterRoleName}`, res, 200, 404)
}

/** SelfSubjectAccessReview as `user`: may they `verb` the resource? */
export async function can(user: User, verb: string, resource: {group?: string; resource: string; subresource?: string; namespace?: string; name?: string}): Promise<boolean> {
  const res = await kubeRequest(user, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: {resourceAttributes: {verb, group: resource.group ?? '', ...resource}},
  })
  return Boolean(expectStatus('selfsubjectaccessreview', res, 201).body.status?.allowed)
}

// ---------------------------------------------------------------------------------------------
// Waiting

/** Polls `check` until it returns a truthy value (returned), or throws after timeoutMs. */
export async function waitFor<T>(check: () => Promise<T> | T, options: {timeoutMs?: number; intervalMs?: number; message?: string} = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as NonNullable<T>
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`${options.message ?? 'condition not met'} after ${options.timeoutMs ?? 30_000} ms${why}`)
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200))
  }
}
