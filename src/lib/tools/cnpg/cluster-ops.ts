import type {KubeClient} from '../../k8s/client.ts'
import {kubeStep} from '../errors.ts'
import type {ToolContext, WaitRequest} from '../registry.ts'
import {type WaitResult, type WaitState, waitForObject} from '../wait.ts'
import {type CnpgCluster, cnpgPath} from './api.ts'

/** Reading and changing Cluster objects: the steps every cluster tool repeats. */

/** The kube client, the resolved namespace and the cluster as it is now. */
export interface ClusterTarget {
  kube: KubeClient
  namespace: string
  cluster: CnpgCluster
  /** "namespace/name", for messages and the audit log. */
  ref: string
}

export async function loadCluster(context: ToolContext, name: string, namespace?: string): Promise<ClusterTarget> {
  const kube = await context.kube()
  const ns = await context.namespace(namespace)
  const cluster = await kubeStep(`getting cluster ${ns}/${name}`, () =>
    kube.request<CnpgCluster>({method: 'GET', path: cnpgPath('clusters', ns, name), signal: context.signal}),
  )
  return {kube, namespace: ns, cluster, ref: `${ns}/${name}`}
}

/**
 * A JSON merge patch of a cluster (or of its status subresource). In a dry run the registry's
 * client sends it with dryRun=All and the API server returns the result without storing it.
 */
export async function mergePatchCluster(
  target: Pick<ClusterTarget, 'kube' | 'namespace'>,
  name: string,
  patch: Record<string, unknown>,
  options: {action: string; subresource?: 'status'; signal?: AbortSignal},
): Promise<CnpgCluster> {
  const request = {
    method: 'PATCH' as const,
    path: cnpgPath('clusters', target.namespace, name, options.subresource),
    body: patch,
    contentType: 'application/merge-patch+json' as const,
    signal: options.signal,
  }
  return kubeStep(options.action, () => target.kube.request<CnpgCluster>(request))
}

/** Healthy means the operator says so and every desired instance is ready. */
export function clusterReadiness(cluster: CnpgCluster): WaitState {
  const desired = cluster.spec.instances ?? 1
  const ready = cluster.status?.readyInstances ?? 0
  const phase = cluster.status?.phase || 'not reported yet'
  return {done: /healthy/i.test(phase) && ready === desired, message: `${ready}/${desired} ready, phase: ${phase}`}
}

/** What the registry waits for after a change of the cluster, when the caller passed wait=true. */
export function clusterWait(target: Pick<ClusterTarget, 'namespace'>, name: string, defaultTimeout: number, evaluate: (cluster: CnpgCluster) => WaitState = clusterReadiness): WaitRequest<never> {
  return {what: `Cluster ${target.namespace}/${name}`, collectionPath: cnpgPath('clusters', target.namespace), name, evaluate: evaluate as (object: never) => WaitState, defaultTimeout}
}

export function waitForCluster(kube: KubeClient, context: ToolContext, namespace: string, name: string, timeoutSeconds: number): Promise<WaitResult<CnpgCluster>> {
  return waitForObject<CnpgCluster>(kube, context, {collectionPath: cnpgPath('clusters', namespace), name, timeoutSeconds, evaluate: clusterReadiness})
}

/** Instance names the operator reports, or an empty list when it has not reported any yet. */
export function instanceNames(cluster: CnpgCluster): string[] {
  return cluster.status?.instanceNames ?? []
}

export function healthyInstances(cluster: CnpgCluster): string[] {
  return [...(cluster.status?.instancesStatus?.healthy ?? [])].sort()
}
