import type {KubeClient} from '../../k8s/client.ts'
import {kubeStep} from '../errors.ts'
import {parseQuantity, compareQuantities, type Quantity} from '../validation.ts'
import type {CnpgCluster, ObjectList, ObjectMeta} from './api.ts'

/** The core objects behind CNPG instances: one Pod and one or more PVCs per instance. */

export interface PersistentVolumeClaim {
  metadata: ObjectMeta
  spec?: {resources?: {requests?: {storage?: string}}; storageClassName?: string}
  status?: {phase?: string; capacity?: {storage?: string}}
}

export function corePath(kind: 'pods' | 'persistentvolumeclaims', namespace: string, name?: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/${kind}${name ? `/${encodeURIComponent(name)}` : ''}`
}

export async function listClusterPvcs(kube: KubeClient, namespace: string, cluster: string, signal: AbortSignal): Promise<PersistentVolumeClaim[]> {
  const list = await kubeStep(`listing the volumes (PVCs) of cluster ${namespace}/${cluster}`, () =>
    kube.request<ObjectList<PersistentVolumeClaim>>({method: 'GET', path: corePath('persistentvolumeclaims', namespace), query: {labelSelector: `cnpg.io/cluster=${cluster}`}, signal}),
  )
  return list.items
}

/** One volume as the resize tools report it. */
export interface VolumeSummary {
  pvc_name: string
  instance: string
  pvc_role: string
  instance_role: string
  requested_size?: string
  actual_size?: string
  phase?: string
}

export function summarizeVolume(pvc: PersistentVolumeClaim): VolumeSummary {
  const labels = pvc.metadata.labels ?? {}
  return {
    pvc_name: pvc.metadata.name,
    instance: labels['cnpg.io/instanceName'] ?? pvc.metadata.name,
    pvc_role: labels['cnpg.io/pvcRole'] ?? 'PG_DATA',
    instance_role: labels['cnpg.io/instanceRole'] ?? 'unknown',
    requested_size: pvc.spec?.resources?.requests?.storage,
    actual_size: pvc.status?.capacity?.storage,
    phase: pvc.status?.phase,
  }
}

export function volumesOf(pvcs: PersistentVolumeClaim[], instance: string): VolumeSummary[] {
  return pvcs.map(summarizeVolume).filter((v) => v.instance === instance)
}

/** The quantity, or undefined when absent or unparsable. */
export function quantityOrUndefined(text: string | undefined): Quantity | undefined {
  if (!text) return undefined
  const parsed = parseQuantity(text)
  return 'quantity' in parsed ? parsed.quantity : undefined
}

export function sameSize(a: string | undefined, b: Quantity): boolean {
  const parsed = quantityOrUndefined(a)
  return parsed !== undefined && compareQuantities(parsed, b) === 0
}

export function isPrimary(cluster: CnpgCluster, instance: string): boolean {
  return cluster.status?.currentPrimary === instance
}

/**
 * The StorageClasses of a cluster's volumes that do not allow volume expansion, so that a grow can
 * be refused before the operator fails at it. Best effort: a class kmcp cannot read (no
 * permission, not found, default class) is left out rather than guessed.
 */
export async function nonExpandableStorageClasses(kube: KubeClient, namespace: string, cluster: string, declared: string | undefined, signal: AbortSignal): Promise<string[]> {
  const names = new Set<string>(declared ? [declared] : [])
  try {
    for (const pvc of await listClusterPvcs(kube, namespace, cluster, signal)) if (pvc.spec?.storageClassName) names.add(pvc.spec.storageClassName)
  } catch {
    // Without the right to list PVCs only the declared class is checked.
  }
  const refusing: string[] = []
  for (const name of names) {
    try {
      const storageClass = await kube.request<{allowVolumeExpansion?: boolean}>({method: 'GET', path: `/apis/storage.k8s.io/v1/storageclasses/${encodeURIComponent(name)}`, signal})
      if (storageClass.allowVolumeExpansion !== true) refusing.push(name)
    } catch {
      // Unknown: let the operator try.
    }
  }
  return refusing.sort()
}
