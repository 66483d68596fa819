/**
 * `kmcp rbac setup`: kmcp's ServiceAccount and the bindings of rbac-rules.ts, a verification by
 * SubjectAccessReview of everything the tool surface needs (and of what it must not get), and
 * a kubeconfig for the ServiceAccount from the TokenRequest API.
 */
import {readFile} from 'node:fs/promises'
import {stringify} from 'yaml'
import type {KubeClient} from '../k8s/client.ts'
import {KubeApiError} from '../k8s/errors.ts'
import {writeManagedFile} from './files.ts'
import {ensureObject, kubeCall, labelsDiffer, requireNamespace, sameJson, SetupKubeError, type KubeObject} from './kube-objects.ts'
import {KMCP_RBAC, rbacObjectNames, toPolicyRules, type AccessCheck} from './rbac-rules.ts'
import {setupLabels} from './secret-names.ts'
import {ChangeLog, Progress, colour, table} from './ui.ts'
import {mapWithConcurrency} from '../util/concurrency.ts'

const RBAC_API = '/apis/rbac.authorization.k8s.io/v1'

export interface RbacTarget {
  /** Namespace of the ServiceAccount (the release namespace). */
  namespace: string
  serviceAccount: string
  /** Namespaces kmcp may manage; ignored for rights when clusterWide (still used for verification). */
  targetNamespaces: string[]
  clusterWide: boolean
  impersonate: boolean
  /** --allow-pod-proxy: also get on pods/proxy (live instance status). */
  podProxy?: boolean
}

export interface RbacSetupOptions extends RbacTarget {
  kube: KubeClient
  dryRun: boolean
  changes: ChangeLog
  progress: Progress
}

interface RoleBindingObject extends KubeObject {
  roleRef: {apiGroup: string; kind: string; name: string}
  subjects: Array<{kind: string; name: string; namespace?: string}>
}


export function serviceAccountUser(target: Pick<RbacTarget, 'namespace' | 'serviceAccount'>): string {
  return `system:serviceaccount:${target.namespace}:${target.serviceAccount}`
}

/** Every object `rbac setup` manages, in creation order. */
export function desiredRbacObjects(target: RbacTarget): Array<{collectionPath: string; object: KubeObject}> {
  const names = rbacObjectNames(target.serviceAccount, target.namespace)
  const labels = setupLabels(target.serviceAccount, 'rbac')
  const subject = [{kind: 'ServiceAccount', name: target.serviceAccount, namespace: target.namespace}]
  const objects: Array<{collectionPath: string; object: KubeObject}> = [
    {
      collectionPath: `/api/v1/namespaces/${target.namespace}/serviceaccounts`,
      object: {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: target.serviceAccount, namespace: target.namespace, labels}},
    },
  ]
  const binding = (kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, roleKind: 'Role' | 'ClusterRole', roleName: string, namespace?: string): {collectionPath: string; object: RoleBindingObject} => ({
    collectionPath: namespace ? `${RBAC_API}/namespaces/${namespace}/rolebindings` : `${RBAC_API}/clusterrolebindings`,
    object: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind,
      metadata: {name, ...(namespace ? {namespace} : {}), labels},
      roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: roleName},
      subjects: subject,
    },
  })
  if (target.clusterWide) {
    objects.push({
      collectionPath: `${RBAC_API}/clusterroles`,
      object: {apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: {name: names.clusterRole, labels}, rules: toPolicyRules(namespacedRules(target))},
    })
    objects.push(binding('ClusterRoleBinding', names.clusterRoleBinding, 'ClusterRole', names.clusterRole))
    for (const role of KMCP_RBAC.cnpgClusterRoles) objects.push(binding('ClusterRoleBinding', names.cnpgClusterRoleBinding(role.name), 'ClusterRole', role.name))
  } else {
    for (const namespace of target.targetNamespaces) {
      objects.push({
        collectionPath: `${RBAC_API}/namespaces/${namespace}/roles`,
        object: {apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: {name: names.role, namespace, labels}, rules: toPolicyRules(namespacedRules(target))},
      })
      objects.push(binding('RoleBinding', names.roleBinding, 'Role', names.role, namespace))
      for (const role of KMCP_RBAC.cnpgClusterRoles) objects.push(binding('RoleBinding', names.cnpgRoleBinding(role.name), 'ClusterRole', role.name, namespace))
    }
  }
  if (target.impersonate) {
    objects.push({
      collectionPath: `${RBAC_API}/clusterroles`,
      object: {apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: {name: names.impersonationClusterRole, labels}, rules: toPolicyRules(KMCP_RBAC.impersonationRules)},
    })
    objects.push(binding('ClusterRoleBinding', names.impersonationClusterRoleBinding, 'ClusterRole', names.impersonationClusterRole))
  }
  return objects
}

/** kmcp's own rules, with the pod proxy rule when it was chosen. */
function namespacedRules(target: RbacTarget) {
  return target.podProxy ? [...KMCP_RBAC.namespacedRules, ...KMCP_RBAC.podProxyRules] : KMCP_RBAC.namespacedRules
}

/** Compares what `rbac setup` sets (labels, rules, roleRef, subjects) and nothing the server adds. */
function reconcileRbac(desired: KubeObject) {
  return (existing: KubeObject): {next: KubeObject; detail: string} | null => {
    const differences: string[] = []
    if (labelsDiffer(existing.metadata.labels, desired.metadata.labels ?? {})) differences.push('labels')
    for (const field of ['rules', 'subjects'] as const) {
      if (field in desired && !sameJson(existing[field], desired[field])) differences.push(field)
    }
    if ('roleRef' in desired && !sameJson(existing.roleRef, desired.roleRef)) {
      throw new SetupKubeError(
        `${desired.kind} ${desired.metadata.namespace ? `${desired.metadata.namespace}/` : ''}${desired.metadata.name} exists but points at ${(existing.roleRef as {kind: string; name: string}).kind} ${(existing.roleRef as {name: string}).name}; a binding's roleRef cannot be changed. Delete it (kubectl delete ${desired.kind.toLowerCase()} ${desired.metadata.name}${desired.metadata.namespace ? ` -n ${desired.metadata.namespace}` : ''}) and run again, or choose another --service-account.`,
      )
    }
    if (differences.length === 0) return null
    const next: KubeObject = {...existing, ...desired, metadata: {...existing.metadata, labels: {...existing.metadata.labels, ...desired.metadata.labels}}}
    return {next, detail: `fixed ${differences.join(', ')}`}
  }
}

/** Fails with one message when the CNPG chart's ClusterRoles are not installed. */
async function requireCnpgClusterRoles(kube: KubeClient): Promise<void> {
  const missing: string[] = []
  for (const role of KMCP_RBAC.cnpgClusterRoles) {
    try {
      await kube.request({method: 'GET', path: `${RBAC_API}/clusterroles/${role.name}`})
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) missing.push(role.name)
      else if (!(error instanceof KubeApiError && error.status === 403)) throw new SetupKubeError(`Could not read ClusterRole ${role.name}: ${(error as Error).message}`)
    }
  }
  if (missing.length) {
    throw new SetupKubeError(`The ClusterRoles ${missing.join(', ')} of the CloudNativePG Helm chart are not in the cluster at ${kube.server}. Install CloudNativePG with its Helm chart (release name "cnpg", which creates cnpg-cloudnative-pg-view and -edit) before running kmcp rbac setup.`)
  }
}

/** Creates or fixes every object; a dry run sends the same requests with dryRun=All. */
export async function setupRbac(options: RbacSetupOptions): Promise<void> {
  const {kube, progress} = options
  await progress.step('checking namespaces and the CNPG ClusterRoles', async () => {
    for (const namespace of new Set([options.namespace, ...options.targetNamespaces])) await requireNamespace(kube, namespace)
    await requireCnpgClusterRoles(kube)
  })
  for (const {collectionPath, object} of desiredRbacObjects(options)) {
    await ensureObject({kube, changes: options.changes, progress, dryRun: options.dryRun}, {collectionPath, desired: object, reconcile: reconcileRbac(object)})
  }
}

export interface AccessRow {
  verb: string
  resource: string
  namespace: string
  expected: 'allowed' | 'denied'
  actual: 'allowed' | 'denied'
  ok: boolean
  reason: string
}

function resourceLabel(check: AccessCheck): string {
  const resource = check.subresource ? `${check.resource}/${check.subresource}` : check.resource
  return check.group ? `${resource}.${check.group}` : resource
}

/** A namespace kmcp was not given, for the "must not reach other namespaces" checks. */
function outsideNamespace(target: RbacTarget): string {
  const given = new Set([...target.targetNamespaces, target.namespace])
  return ['kube-system', 'default', 'kmcp-verify-outside'].find((ns) => !given.has(ns)) ?? 'kmcp-verify-outside'
}

/** The questions to ask for this set-up, with the answer each must get. */
export function accessQuestions(target: RbacTarget): Array<{check: AccessCheck; namespace?: string; expected: boolean}> {
  const questions: Array<{check: AccessCheck; namespace?: string; expected: boolean}> = []
  const namespaces = target.targetNamespaces.length ? target.targetNamespaces : [target.namespace]
  for (const namespace of namespaces) for (const check of KMCP_RBAC.required) questions.push({check, namespace, expected: true})
  for (const check of KMCP_RBAC.forbidden) {
    if (check.outsideTargets) {
      if (!target.clusterWide) questions.push({check, namespace: outsideNamespace(target), expected: false})
    } else if (check.verb === 'impersonate') {
      questions.push({check, expected: target.impersonate})
    } else if (check.subresource === 'proxy') {
      questions.push({check, namespace: namespaces[0], expected: target.podProxy === true})
    } else {
      questions.push({check, namespace: check.clusterScoped ? undefined : namespaces[0], expected: false})
    }
  }
  return questions
}

/** Asks the API server, by SubjectAccessReview, what the ServiceAccount may really do. */
export async function verifyRbac(kube: KubeClient, target: RbacTarget, progress: Progress): Promise<AccessRow[]> {
  const user = serviceAccountUser(target)
  const groups = ['system:serviceaccounts', `system:serviceaccounts:${target.namespace}`, 'system:authenticated']
  const questions = accessQuestions(target)
  return progress.step(`verifying ${questions.length} permissions of ${user} with SubjectAccessReviews`, () =>
    mapWithConcurrency(questions, REVIEW_CONCURRENCY, async ({check, namespace, expected}) => {
      const review = await kubeCall(kube, 'creating a SubjectAccessReview (needs rights to create subjectaccessreviews.authorization.k8s.io)', () =>
        kube.request<{status?: {allowed?: boolean}}>({
          method: 'POST',
          path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {user, groups, resourceAttributes: {namespace, verb: check.verb, group: check.group, resource: check.resource, subresource: check.subresource}},
          },
        }),
      )
      const allowed = review.status?.allowed === true
      return {
        verb: check.verb,
        resource: resourceLabel(check),
        namespace: namespace ?? '(cluster)',
        expected: expected ? 'allowed' : 'denied',
        actual: allowed ? 'allowed' : 'denied',
        ok: allowed === expected,
        reason: check.reason,
      } satisfies AccessRow
    }),
  )
}

/** Reviews in flight at once: enough to be quick, few enough not to be throttled by the API server. */
const REVIEW_CONCURRENCY = 8


export function renderAccessTable(rows: AccessRow[]): string {
  const body = rows.map((r) => [r.ok ? colour.ok('ok') : colour.bad('FAIL'), r.verb, r.resource, r.namespace, r.expected, r.actual, r.reason])
  const failed = rows.filter((r) => !r.ok).length
  const summary = failed === 0 ? colour.ok(`All ${rows.length} checks passed.`) : colour.bad(`${failed} of ${rows.length} checks failed.`)
  return `${table(['CHECK', 'VERB', 'RESOURCE', 'NAMESPACE', 'EXPECTED', 'ACTUAL', 'WHY'], body)}\n${summary}`
}

/**
 * Writes a kubeconfig that authenticates as the ServiceAccount with a token from the
 * TokenRequest API (bound, expiring), using the cluster entry of the caller's kubeconfig.
 */
export async function writeServiceAccountKubeconfig(kube: KubeClient, target: RbacTarget, options: {path: string; expirationSeconds: number; changes: ChangeLog; progress: Progress}): Promise<{expiresAt: string}> {
  const cluster = kube.currentCluster()
  if (!cluster) throw new SetupKubeError('The kubeconfig in use has no current cluster, so no kubeconfig can be derived from it.')
  const tokenPath = `/api/v1/namespaces/${target.namespace}/serviceaccounts/${target.serviceAccount}/token`
  const response = await options.progress.step(`requesting a token for ${serviceAccountUser(target)} (TokenRequest)`, () =>
    kubeCall(kube, `requesting a token for ServiceAccount ${target.namespace}/${target.serviceAccount}`, () =>
      kube.request<{status: {token: string; expirationTimestamp: string}}>({
        method: 'POST',
        path: tokenPath,
        body: {apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {expirationSeconds: options.expirationSeconds}},
      }),
    ),
  )
  const caData = cluster.caData ?? (cluster.caFile ? (await readFile(cluster.caFile)).toString('base64') : undefined)
  const name = `kmcp-${target.namespace}-${target.serviceAccount}`
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{name, cluster: {server: cluster.server, ...(caData ? {'certificate-authority-data': caData} : {}), ...(cluster.skipTLSVerify ? {'insecure-skip-tls-verify': true} : {})}}],
    users: [{name, user: {token: response.status.token}}],
    contexts: [{name, context: {cluster: name, user: name, namespace: target.targetNamespaces[0] ?? target.namespace}}],
    'current-context': name,
  }
  await writeManagedFile(options.path, stringify(kubeconfig), {mode: 0o600, changes: options.changes, detail: `kubeconfig for ${serviceAccountUser(target)}, token expires ${response.status.expirationTimestamp}`})
  return {expiresAt: response.status.expirationTimestamp}
}
