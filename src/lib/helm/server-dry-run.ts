/**
 * Sends every rendered object to the API server as a server-side apply with dryRun=All: the
 * server runs its schema validation, defaulting, admission and RBAC escalation checks and stores
 * nothing. `kmcp helm install --dry-run` uses it to say exactly what an install would do.
 */
import type {KubeClient} from '../k8s/client.ts'
import {KubeApiError, describeKubeError} from '../k8s/errors.ts'
import type {KubeObject} from '../setup/kube-objects.ts'
import type {ChangeLog} from '../setup/ui.ts'

/** REST plural and scope of every kind the chart renders. */
const RESOURCES: Record<string, {plural: string; clusterScoped?: boolean}> = {
  ConfigMap: {plural: 'configmaps'},
  Service: {plural: 'services'},
  ServiceAccount: {plural: 'serviceaccounts'},
  Secret: {plural: 'secrets'},
  Deployment: {plural: 'deployments'},
  Role: {plural: 'roles'},
  RoleBinding: {plural: 'rolebindings'},
  ClusterRole: {plural: 'clusterroles', clusterScoped: true},
  ClusterRoleBinding: {plural: 'clusterrolebindings', clusterScoped: true},
  Ingress: {plural: 'ingresses'},
  HorizontalPodAutoscaler: {plural: 'horizontalpodautoscalers'},
  NetworkPolicy: {plural: 'networkpolicies'},
  PodDisruptionBudget: {plural: 'poddisruptionbudgets'},
  PersistentVolumeClaim: {plural: 'persistentvolumeclaims'},
}

export function objectPath(object: KubeObject): string {
  const resource = RESOURCES[object.kind]
  if (!resource) throw new Error(`kmcp does not know the REST path of kind ${object.kind}; add it to RESOURCES in src/lib/helm/server-dry-run.ts`)
  const base = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`
  const namespace = resource.clusterScoped ? '' : `/namespaces/${encodeURIComponent(object.metadata.namespace ?? 'default')}`
  return `${base}${namespace}/${resource.plural}/${encodeURIComponent(object.metadata.name)}`
}

export interface DryRunProblem {
  object: string
  message: string
}

/** Records "would create"/"would update" per object; returns the objects the server rejected. */
export async function serverDryRun(kube: KubeClient, objects: KubeObject[], changes: ChangeLog): Promise<DryRunProblem[]> {
  const problems: DryRunProblem[] = []
  for (const object of objects) {
    const label = `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`
    const path = objectPath(object)
    let exists = true
    try {
      await kube.request({method: 'GET', path})
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) {
        problems.push({object: label, message: describeKubeError(error, `reading ${label}`)})
        continue
      }
      exists = false
    }
    try {
      await kube.request({
        method: 'PATCH',
        path,
        query: {dryRun: 'All', fieldManager: 'kmcp-helm-install', force: true},
        body: JSON.stringify(object),
        contentType: 'application/apply-patch+yaml',
      })
      changes.add({kind: object.kind, name: object.metadata.name, namespace: object.metadata.namespace, outcome: exists ? 'would update' : 'would create'})
    } catch (error) {
      problems.push({object: label, message: describeKubeError(error, `checking ${label} (server-side dry run)`)})
    }
  }
  return problems
}
