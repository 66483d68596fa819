// Shared by the cluster tool tests: sessions, RBAC for instance operations, a stand-in for CNPG's
// validating webhook, and small assertions on tool results.
import assert from 'node:assert/strict'
import {parse} from 'yaml'
import {ElicitRequestSchema, type CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {bindRole, harness, kubeRequest, waitFor, type User} from '../support/kube.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {realNode} from '../support/real-node.ts'

export const CNPG = '/apis/postgresql.cnpg.io/v1'
export const VIEW_ROLE = 'cnpg-cloudnative-pg-view'
export const EDIT_ROLE = 'cnpg-cloudnative-pg-edit'
/** Pods and PVCs: what delete_cluster_instance and get_cluster_resize_status need beyond CNPG's roles. */
export const INSTANCE_OPS_ROLE = 'kmcp-test-instance-ops'

export const cnpg = (ns: string, plural: string, name?: string) => `${CNPG}/namespaces/${ns}/${plural}${name ? `/${name}` : ''}`

export async function ensureInstanceOpsRole(): Promise<void> {
  const res = await kubeRequest('admin', 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: {name: INSTANCE_OPS_ROLE},
    rules: [
      {apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'delete']},
      {apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'delete']},
    ],
  })
  assert.ok(res.status === 201 || res.status === 409, res.text)
}

export async function bindCnpgRoles(ns: string, user: User): Promise<void> {
  await bindRole(ns, user, VIEW_ROLE)
  await bindRole(ns, user, EDIT_ROLE)
}

/** The API server may answer 429 while a CRD's storage initialises right after start-up. */
export async function waitForCnpgStorage(ns: string, plurals = ['clusters', 'backups', 'scheduledbackups']): Promise<void> {
  await waitFor(
    async () => {
      for (const plural of plurals) if ((await kubeRequest('admin', 'GET', cnpg(ns, plural))).status !== 200) return false
      return true
    },
    {timeoutMs: 30_000, message: 'CNPG resources could not be listed'},
  )
}

/** What the human answers when kmcp asks through elicitation. */
export interface ElicitingSession extends StdioSession {
  answer: 'accept' | 'decline'
  questions: string[]
}

/** A session whose client supports elicitation and answers as `answer` says. */
export async function connectEliciting(user: User = 'admin'): Promise<ElicitingSession> {
  const session = await connectStdio({kubeconfig: harness().kubeconfigFor(user), capabilities: {elicitation: {}}})
  const eliciting = session as ElicitingSession
  eliciting.answer = 'decline'
  eliciting.questions = []
  session.client.setRequestHandler(ElicitRequestSchema, async (request) => {
    eliciting.questions.push(String((request.params as {message?: string}).message ?? ''))
    return eliciting.answer === 'accept' ? {action: 'accept', content: {confirm: true}} : {action: 'decline'}
  })
  return eliciting
}

export async function ok(session: StdioSession, tool: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const result = await callTool(session.client, tool, args)
  assert.notEqual(result.isError, true, `${tool} failed: ${textOf(result)}`)
  return result
}

export async function fails(session: StdioSession, tool: string, args: Record<string, unknown>, pattern: RegExp): Promise<string> {
  const result = await callTool(session.client, tool, args)
  assert.equal(result.isError, true, `${tool} should fail: ${textOf(result)}`)
  assert.match(textOf(result), pattern)
  return textOf(result)
}

// any: tests read arbitrary fields of the stored objects; assertions check them.
export async function getJson(path: string): Promise<any> {
  const res = await kubeRequest('admin', 'GET', path)
  return res.status === 404 ? undefined : res.body
}

/**
 * A ValidatingAdmissionPolicy standing in for CNPG's validating webhook (absent in the harness),
 * limited to some clusters of one namespace. Rules are CEL expressions that must hold; reason Invalid gives 422.
 * `resource` may be a subresource ("clusters/status") or, with `apiGroup: ''`, a core resource;
 * for DELETE the object is `oldObject` (CEL's `object` is null then).
 */
export async function installWebhookStandIn(ns: string, name: string, validations: Array<{expression: string; message: string}>, clusters: string[], resource = 'clusters', options: {apiGroup?: string; operations?: Array<'CREATE' | 'UPDATE' | 'DELETE'>} = {}): Promise<() => Promise<void>> {
  const operations = options.operations ?? ['CREATE', 'UPDATE']
  const subject = operations.includes('DELETE') ? "(request.operation == 'DELETE' ? oldObject : object)" : 'object'
  // Limited to the named objects, so a policy still being torn down cannot disturb another test.
  const scope = `!(${subject}.metadata.name in ${JSON.stringify(clusters)})`
  const policy = `kmcp-test-${name}-${ns}`
  const created = await kubeRequest('admin', 'POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: {name: policy},
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': ns}},
        resourceRules: [{apiGroups: [options.apiGroup ?? 'postgresql.cnpg.io'], apiVersions: ['v1'], operations, resources: [resource]}],
      },
      validations: validations.map((v) => ({...v, expression: `${scope} || (${v.expression})`, reason: 'Invalid'})),
    },
  })
  assert.equal(created.status, 201, created.text)
  const binding = await kubeRequest('admin', 'POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: {name: policy},
    spec: {policyName: policy, validationActions: ['Deny']},
  })
  assert.equal(binding.status, 201, binding.text)
  return async () => {
    await kubeRequest('admin', 'DELETE', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${policy}`)
    await kubeRequest('admin', 'DELETE', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${policy}`)
  }
}

/**
 * Policies take effect (and go away) a moment after they are created (deleted): probe until the
 * probe is refused with `message`, or until it is no longer refused with it.
 */
export async function untilAdmission(probe: () => Promise<{status: number; text: string}>, expected: 'denied' | 'allowed', message: string): Promise<void> {
  await waitFor(async () => {
    const {status, text} = await probe()
    const denied = status === 422 && text.includes(message)
    return expected === 'denied' ? denied : !denied
  }, {timeoutMs: 20_000, intervalMs: 250, message: `admission policy "${message}" never became ${expected}`})
}

/** The ```yaml block of a dry-run result, parsed. */
// any: the manifest's fields are whatever the API server returned; assertions check them.
export function yamlBlock(text: string): any {
  const match = /```yaml\n([\s\S]*?)\n```/.exec(text)
  assert.ok(match, `a YAML block in:\n${text}`)
  return parse(match[1])
}

/** What CNPG's mutating webhook adds to spec.bootstrap.initdb when unset (v1.30.0 api/v1/cluster_defaults.go, defaultInitDB). */
export const CNPG_INITDB_DEFAULTS = {encoding: 'UTF8', localeCollate: 'C', localeCType: 'C'}

/**
 * What CNPG's mutating webhook writes into spec.postgresql.parameters of a primary cluster under what
 * the user set (v1.30.0 pkg/postgres/configuration.go: the global default settings, plus archive_mode).
 */
export const CNPG_PARAMETER_DEFAULTS = {
  archive_mode: 'on', archive_timeout: '5min', dynamic_shared_memory_type: 'posix', full_page_writes: 'on',
  log_destination: 'csvlog', log_directory: '/controller/log', log_filename: 'postgres', log_rotation_age: '0', log_rotation_size: '0',
  log_truncate_on_rotation: 'false', logging_collector: 'on', max_parallel_workers: '32', max_replication_slots: '32', max_worker_processes: '32',
  shared_memory_type: 'mmap', shared_preload_libraries: '', ssl_max_protocol_version: 'TLSv1.3', ssl_min_protocol_version: 'TLSv1.3',
  wal_keep_size: '512MB', wal_level: 'logical', wal_log_hints: 'on', wal_receiver_timeout: '5s', wal_sender_timeout: '5s',
}

/**
 * Checks part of a Cluster as the API server stored or dry-ran it: exactly what kmcp sent, plus CNPG's
 * defaults under it when the real operator's mutating webhook answers (the run has a real node).
 */
export function assertSentWithCnpgDefaults(actual: unknown, sentByKmcp: Record<string, unknown>, cnpgDefaults: Record<string, unknown>): void {
  const expected = realNode().available ? {...cnpgDefaults, ...sentByKmcp} : sentByKmcp
  assert.deepEqual(actual, expected)
}
