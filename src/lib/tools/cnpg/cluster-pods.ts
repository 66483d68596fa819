import type {KubeClient} from '../../k8s/client.ts'
import {KubeApiError} from '../../k8s/errors.ts'
import {ToolError, kubeStep} from '../errors.ts'
import type {ObjectList, ObjectMeta} from './api.ts'

/** The Pods of a CNPG cluster (instances and bootstrap/join jobs) and the pod subresources kmcp reads. */

export interface ClusterPod {
  metadata: ObjectMeta & {ownerReferences?: Array<{kind: string; name: string; uid: string}>}
  spec?: {nodeName?: string; containers?: Array<{name: string; command?: string[]; args?: string[]}>}
  status?: {
    phase?: string
    podIP?: string
    containerStatuses?: Array<{name: string; ready?: boolean; restartCount?: number; state?: Record<string, {reason?: string; message?: string; exitCode?: number}>; lastState?: Record<string, {reason?: string; exitCode?: number; finishedAt?: string}>}>
  }
}

const POD_ROLE = 'cnpg.io/podRole'
const JOB_ROLE = 'cnpg.io/jobRole'

/** Instance Pods and job Pods (initdb, join, …) of the cluster; PgBouncer Pods of its Poolers are not included. */
export async function listClusterPods(kube: KubeClient, namespace: string, cluster: string, signal: AbortSignal): Promise<ClusterPod[]> {
  const list = await kubeStep(`listing the pods of cluster ${namespace}/${cluster}`, () =>
    kube.request<ObjectList<ClusterPod>>({method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, query: {labelSelector: `cnpg.io/cluster=${cluster}`}, signal}),
  )
  return list.items.filter((pod) => pod.metadata.labels?.[POD_ROLE] !== 'pooler').sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
}

export function isInstancePod(pod: ClusterPod): boolean {
  return pod.metadata.labels?.[POD_ROLE] === 'instance' || (!pod.metadata.labels?.[JOB_ROLE] && pod.spec?.containers?.some((c) => c.name === 'postgres') === true)
}

/** What the pod is, for people: "instance", "initdb job", … */
export function podKind(pod: ClusterPod): string {
  const job = pod.metadata.labels?.[JOB_ROLE]
  return job ? `${job} job` : 'instance'
}

/** The container whose logs matter: "postgres" in instance pods, else the first one. */
export function mainContainer(pod: ClusterPod): string | undefined {
  const containers = pod.spec?.containers ?? []
  return (containers.find((c) => c.name === 'postgres') ?? containers[0])?.name
}

export function restartCount(pod: ClusterPod, container: string | undefined): number {
  return pod.status?.containerStatuses?.find((s) => s.name === container)?.restartCount ?? 0
}

/**
 * A 403 on a pod subresource (pods/log, pods/proxy) names the exact permission missing and how to
 * get it, because the CNPG ClusterRoles do not grant either.
 */
export function subresourceForbidden(error: unknown, subresource: 'log' | 'proxy', namespace: string, purpose: string): ToolError | undefined {
  // Only the API server's own RBAC denial: through pods/proxy a 403 may also come from the pod or
  // from a network proxy on the way, which says nothing about kmcp's permissions.
  if (!(error instanceof KubeApiError) || error.status !== 403 || !/is forbidden|cannot get resource/.test(error.message)) return undefined
  return new ToolError(
    [
      `Kubernetes API error 403 Forbidden: the identity kmcp uses may not get pods/${subresource} in namespace ${namespace}, which is needed ${purpose}.`,
      `What to do: ask a cluster admin to grant "get" on "pods/${subresource}" in that namespace (\`kmcp rbac setup${subresource === 'proxy' ? ' --allow-pod-proxy' : ''}\` grants it to kmcp's service account), or use a namespace you have access to.`,
    ].join('\n'),
  )
}

/** Short text of a per-pod failure: the API server's own message, without the advice block. */
export function podProblem(error: unknown): string {
  if (error instanceof KubeApiError) return `${error.status} ${error.reason}: ${error.message}`
  if (error instanceof ToolError) return error.message.split('\n')[0]
  return error instanceof Error ? error.message : String(error)
}
