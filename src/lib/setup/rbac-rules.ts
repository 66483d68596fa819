/**
 * kmcp's least-privilege Kubernetes RBAC: the ONE source of truth for `kmcp rbac setup` and for
 * the Helm chart's role/rolebinding template (chart/ generates its rules from `KMCP_RBAC`).
 *
 * Shape (stable; add entries, do not rename fields):
 *   KMCP_RBAC.cnpgClusterRoles   ClusterRoles shipped by the CloudNativePG Helm chart that kmcp's
 *                                ServiceAccount is bound to: one RoleBinding per target namespace,
 *                                or one ClusterRoleBinding in cluster-wide mode.
 *   KMCP_RBAC.namespacedRules    kmcp's own Role (same name in every target namespace), or a
 *                                ClusterRole in cluster-wide mode: what the CNPG roles do not cover.
 *   KMCP_RBAC.impersonationRules A ClusterRole bound cluster-wide, only when impersonation mode is
 *                                chosen (`--impersonate` / chart value impersonation.enabled).
 *   KMCP_RBAC.required           What the tool surface needs, per namespace: verified with
 *                                SubjectAccessReviews after set-up (allowed expected).
 *   KMCP_RBAC.forbidden          What the account must NOT be able to do (denied expected).
 *   KMCP_RBAC.podProxyRules      Added to kmcp's Role/ClusterRole only when chosen (`--allow-pod-proxy`):
 *                                get_cluster_status detail_level="detailed" reads each instance manager's
 *                                /pg/status through the pod proxy. Opt-in because pods/proxy reaches
 *                                every HTTP port of every pod in the namespace.
 * Every rule is {apiGroups, resources, verbs, reason}; `reason` is documentation and must be
 * dropped when rendering a Kubernetes object (use `toPolicyRules`).
 * Object names: `rbacObjectNames(base, namespace)`; the chart passes its fullname as base.
 */

export interface KmcpPolicyRule {
  apiGroups: string[]
  resources: string[]
  verbs: string[]
  /** Which kmcp feature needs this rule. Not part of the Kubernetes object. */
  reason: string
}

/** One SubjectAccessReview question: may the account do `verb` on `group/resource[/subresource]`? */
export interface AccessCheck {
  group: string
  resource: string
  subresource?: string
  verb: string
  /** true: ask in a namespace kmcp was NOT given (namespaced mode only); false/absent: in each target namespace. */
  outsideTargets?: boolean
  /** true: cluster-scoped question (no namespace). */
  clusterScoped?: boolean
  reason: string
}

const CNPG_GROUP = 'postgresql.cnpg.io'

export const KMCP_RBAC = {
  cnpgClusterRoles: [
    {name: 'cnpg-cloudnative-pg-view', reason: 'read CNPG objects: list/get clusters, databases, database roles, backups'},
    {name: 'cnpg-cloudnative-pg-edit', reason: 'create, scale, resize and delete clusters, databases and database roles'},
  ],

  namespacedRules: [
    {
      apiGroups: [''],
      resources: ['secrets'],
      verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
      reason: 'role password Secrets (kubernetes.io/basic-auth) created, rotated and deleted with database roles',
    },
    {
      apiGroups: [''],
      resources: ['persistentvolumeclaims'],
      verbs: ['get', 'list', 'delete'],
      reason: 'instance replacement deletes the instance PVC; resize status reads PVC capacity',
    },
    {
      apiGroups: [''],
      resources: ['pods'],
      verbs: ['get', 'list', 'watch', 'delete'],
      reason: 'instance replacement deletes the instance Pod; status reads instance Pods',
    },
    {
      apiGroups: [''],
      resources: ['services'],
      verbs: ['get', 'list'],
      reason: 'connection info names the -rw/-ro/-r Services of a cluster',
    },
    {
      apiGroups: [''],
      resources: ['pods/log'],
      verbs: ['get'],
      reason: 'get_cluster_logs reads the instances\' logs',
    },
    {
      apiGroups: [''],
      resources: ['events'],
      verbs: ['get', 'list'],
      reason: 'list_cluster_events reads the events of a cluster and its pods, PVCs, jobs and services',
    },
    {
      apiGroups: [CNPG_GROUP],
      resources: ['clusters/status'],
      verbs: ['get', 'patch', 'update'],
      reason: 'switchover sets status.targetPrimary (also in the CNPG edit role; kept so switchover never depends on it)',
    },
  ] satisfies KmcpPolicyRule[],

  impersonationRules: [
    {
      apiGroups: [''],
      resources: ['users', 'groups'],
      verbs: ['impersonate'],
      reason: 'impersonation mode: every Kubernetes request is made as the signed-in user (Impersonate-User/Impersonate-Group)',
    },
  ] satisfies KmcpPolicyRule[],

  podProxyRules: [
    {
      apiGroups: [''],
      resources: ['pods/proxy'],
      verbs: ['get'],
      reason: 'live instance status (role, LSN, replication lag, WAL archiving) from the instance manager, as kubectl cnpg status reads it',
    },
  ] satisfies KmcpPolicyRule[],

  required: [
    ...crud(CNPG_GROUP, 'clusters', 'cluster lifecycle tools'),
    ...crud(CNPG_GROUP, 'databases', 'database tools'),
    ...crud(CNPG_GROUP, 'databaseroles', 'role tools'),
    {group: CNPG_GROUP, resource: 'clusters', subresource: 'status', verb: 'patch', reason: 'switchover'},
    {group: CNPG_GROUP, resource: 'backups', verb: 'list', reason: 'cluster status shows backups'},
    {group: '', resource: 'secrets', verb: 'get', reason: 'role password Secrets'},
    {group: '', resource: 'secrets', verb: 'create', reason: 'role password Secrets'},
    {group: '', resource: 'secrets', verb: 'update', reason: 'role password rotation'},
    {group: '', resource: 'secrets', verb: 'delete', reason: 'role deletion'},
    {group: '', resource: 'persistentvolumeclaims', verb: 'list', reason: 'resize status'},
    {group: '', resource: 'persistentvolumeclaims', verb: 'delete', reason: 'instance replacement'},
    {group: '', resource: 'pods', verb: 'list', reason: 'cluster status'},
    {group: '', resource: 'pods', verb: 'delete', reason: 'instance replacement'},
    {group: '', resource: 'services', verb: 'get', reason: 'connection info'},
    {group: '', resource: 'pods', subresource: 'log', verb: 'get', reason: 'instance logs'},
    {group: '', resource: 'events', verb: 'list', reason: 'cluster events'},
  ] satisfies AccessCheck[],

  forbidden: [
    {group: '', resource: 'secrets', verb: 'get', outsideTargets: true, reason: 'no Secrets outside the target namespaces'},
    {group: CNPG_GROUP, resource: 'clusters', verb: 'delete', outsideTargets: true, reason: 'no clusters outside the target namespaces'},
    {group: '', resource: 'pods', subresource: 'exec', verb: 'create', reason: 'no shell into database pods'},
    {group: '', resource: 'pods', verb: 'create', reason: 'cannot start workloads'},
    {group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verb: 'create', reason: 'cannot grant itself more rights'},
    {group: '', resource: 'nodes', verb: 'list', clusterScoped: true, reason: 'no node access'},
    {group: '', resource: 'users', verb: 'impersonate', clusterScoped: true, reason: 'impersonation only when chosen'},
    {group: '', resource: 'pods', subresource: 'proxy', verb: 'get', reason: 'pod proxy (live instance status) only when chosen'},
  ] satisfies AccessCheck[],
}

function crud(group: string, resource: string, reason: string): AccessCheck[] {
  return ['get', 'list', 'watch', 'create', 'patch', 'delete'].map((verb) => ({group, resource, verb, reason}))
}

/** The rules as Kubernetes PolicyRule objects (without `reason`). */
export function toPolicyRules(rules: readonly KmcpPolicyRule[]): Array<{apiGroups: string[]; resources: string[]; verbs: string[]}> {
  return rules.map(({apiGroups, resources, verbs}) => ({apiGroups: [...apiGroups], resources: [...resources], verbs: [...verbs]}))
}

/**
 * Names of the RBAC objects for a ServiceAccount (CLI) or chart fullname (chart) `base` living in
 * `namespace`. Cluster-scoped objects carry the namespace so two installations never collide.
 */
export function rbacObjectNames(base: string, namespace: string): {
  role: string
  roleBinding: string
  cnpgRoleBinding: (clusterRole: string) => string
  clusterRole: string
  clusterRoleBinding: string
  cnpgClusterRoleBinding: (clusterRole: string) => string
  impersonationClusterRole: string
  impersonationClusterRoleBinding: string
} {
  const short = (clusterRole: string) => clusterRole.replace(/^cnpg-cloudnative-pg-/, 'cnpg-')
  return {
    role: base,
    roleBinding: base,
    cnpgRoleBinding: (clusterRole) => `${base}-${short(clusterRole)}`,
    clusterRole: `${namespace}-${base}`,
    clusterRoleBinding: `${namespace}-${base}`,
    cnpgClusterRoleBinding: (clusterRole) => `${namespace}-${base}-${short(clusterRole)}`,
    impersonationClusterRole: `${namespace}-${base}-impersonate`,
    impersonationClusterRoleBinding: `${namespace}-${base}-impersonate`,
  }
}
