// "Playing the operator": no CNPG operator, kubelet or scheduler runs in the test harness, so tests
// write the status a real operator would have written through the `status` subresource, and create
// the Pods/PVCs it would have created (Pods stay Pending forever: there is no kubelet).
// Field names follow the CNPG v1.30.0 CRD schema (config/crd/bases/postgresql.cnpg.io_clusters.yaml of the CNPG Go module; see scripts/node/cnpg.mjs).
import {createObject, expectStatus, kubeRequest, type KubeObject} from './kube.ts'

export const CNPG_API = 'postgresql.cnpg.io/v1'
const CNPG_PATH = '/apis/postgresql.cnpg.io/v1'

export type CnpgPlural = 'clusters' | 'databases' | 'databaseroles' | 'backups' | 'scheduledbackups' | 'poolers' | 'publications' | 'subscriptions' | 'failoverquorums'

/** Merge-patches `.status` of a CNPG object through its status subresource; returns the object. */
export async function setStatus(plural: CnpgPlural, namespace: string, name: string, status: Record<string, unknown>): Promise<KubeObject> {
  const res = await kubeRequest('admin', 'PATCH', `${CNPG_PATH}/namespaces/${namespace}/${plural}/${name}/status`, {status}, {contentType: 'application/merge-patch+json'})
  return expectStatus(`set status of ${plural}/${name} in ${namespace}`, res, 200).body
}

export const setClusterStatus = (namespace: string, name: string, status: Record<string, unknown>) => setStatus('clusters', namespace, name, status)
export const setDatabaseStatus = (namespace: string, name: string, status: Record<string, unknown>) => setStatus('databases', namespace, name, status)
export const setDatabaseRoleStatus = (namespace: string, name: string, status: Record<string, unknown>) => setStatus('databaseroles', namespace, name, status)
export const setBackupStatus = (namespace: string, name: string, status: Record<string, unknown>) => setStatus('backups', namespace, name, status)
export const setScheduledBackupStatus = (namespace: string, name: string, status: Record<string, unknown>) => setStatus('scheduledbackups', namespace, name, status)
export const setPoolerStatus = (namespace: string, name: string, status: Record<string, unknown>) => setStatus('poolers', namespace, name, status)

/** A metav1.Condition as the CRDs require it (all of type/status/reason/message/lastTransitionTime). */
export function condition(type: string, status: 'True' | 'False' | 'Unknown', reason: string, message = '', observedGeneration?: number) {
  return {type, status, reason, message, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), ...(observedGeneration === undefined ? {} : {observedGeneration})}
}

export const DEFAULT_IMAGE = 'ghcr.io/cloudnative-pg/postgresql:18.1-system-trixie'

/** A minimal valid Cluster manifest. */
export function clusterManifest(namespace: string, name: string, options: {instances?: number; storageSize?: string; imageName?: string; spec?: Record<string, unknown>; labels?: Record<string, string>} = {}): KubeObject {
  return {
    apiVersion: CNPG_API,
    kind: 'Cluster',
    metadata: {name, namespace, ...(options.labels ? {labels: options.labels} : {})},
    spec: {
      instances: options.instances ?? 3,
      ...(options.imageName ? {imageName: options.imageName} : {}),
      storage: {size: options.storageSize ?? '1Gi'},
      ...options.spec,
    },
  }
}

export interface HealthyClusterOptions {
  instances?: number
  storageSize?: string
  imageName?: string
  /** Extra spec fields merged into the manifest. */
  spec?: Record<string, unknown>
  labels?: Record<string, string>
  /** Index (1-based) of the primary instance; default 1. */
  primary?: number
  /** Message of the Ready condition (tests use long ones to make objects big). */
  conditionMessage?: string
  /** Extra status fields merged over the generated ones. */
  status?: Record<string, unknown>
  /** Also create the instance Pods (Pending) and PG_DATA PVCs. Default false. */
  withPods?: boolean
}

/** Status a healthy CNPG cluster reports (phase, instances, primary, conditions, services...). */
export function healthyClusterStatus(name: string, options: {instances?: number; primary?: number; conditionMessage?: string; imageName?: string; generation?: number} = {}) {
  const instances = options.instances ?? 3
  const instanceNames = Array.from({length: instances}, (_, i) => `${name}-${i + 1}`)
  const primary = `${name}-${options.primary ?? 1}`
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  return {
    phase: 'Cluster in healthy state',
    instances,
    readyInstances: instances,
    instanceNames,
    instancesStatus: {healthy: instanceNames},
    currentPrimary: primary,
    currentPrimaryTimestamp: now,
    targetPrimary: primary,
    targetPrimaryTimestamp: now,
    latestGeneratedNode: instances,
    timelineID: 1,
    image: options.imageName ?? DEFAULT_IMAGE,
    healthyPVC: instanceNames,
    pvcCount: instances,
    jobCount: 0,
    writeService: `${name}-rw`,
    readService: `${name}-r`,
    topology: {successfullyExtracted: true, instances: Object.fromEntries(instanceNames.map((n) => [n, {}])), nodesUsed: 1},
    conditions: [
      condition('Ready', 'True', 'ClusterIsReady', options.conditionMessage ?? 'Cluster is Ready', options.generation),
    ],
  }
}

/**
 * Creates a Cluster (as admin) and writes the status of a healthy cluster, as the operator would.
 * Returns the Cluster as stored after the status update.
 */
export async function makeHealthyCluster(namespace: string, name: string, options: HealthyClusterOptions = {}): Promise<KubeObject> {
  const instances = options.instances ?? 3
  const created = await createObject(clusterManifest(namespace, name, options), {namespace})
  const status = {
    ...healthyClusterStatus(name, {instances, primary: options.primary, conditionMessage: options.conditionMessage, imageName: options.imageName, generation: created.metadata.generation}),
    ...options.status,
  }
  const updated = await setClusterStatus(namespace, name, status)
  if (options.withPods) await createInstancePodsAndPVCs(namespace, name, status.instanceNames as string[], {primary: status.currentPrimary as string, storageSize: options.storageSize})
  return updated
}

/**
 * Creates, for each instance, a PG_DATA PVC and a Pod labelled like CNPG does:
 * cnpg.io/cluster, cnpg.io/instanceName, cnpg.io/podRole=instance, cnpg.io/instanceRole and role
 * (primary|replica), and for PVCs cnpg.io/pvcRole=PG_DATA. Pods stay Pending (no kubelet).
 * The first instance is the primary unless `primary` names another one.
 */
export async function createInstancePodsAndPVCs(namespace: string, cluster: string, instanceNames: string[], options: {primary?: string; storageSize?: string; image?: string} = {}): Promise<{pods: KubeObject[]; pvcs: KubeObject[]}> {
  const primary = options.primary ?? instanceNames[0]
  const pods: KubeObject[] = []
  const pvcs: KubeObject[] = []
  for (const instance of instanceNames) {
    const role = instance === primary ? 'primary' : 'replica'
    const common = {'cnpg.io/cluster': cluster, 'cnpg.io/instanceName': instance, 'cnpg.io/instanceRole': role, role}
    pvcs.push(
      await createObject({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {name: instance, namespace, labels: {...common, 'cnpg.io/pvcRole': 'PG_DATA'}, annotations: {'cnpg.io/nodeSerial': instance.split('-').pop() ?? '1', 'cnpg.io/pvcStatus': 'ready'}},
        spec: {accessModes: ['ReadWriteOnce'], resources: {requests: {storage: options.storageSize ?? '1Gi'}}},
      }),
    )
    pods.push(
      await createObject({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {name: instance, namespace, labels: {...common, 'cnpg.io/podRole': 'instance'}, annotations: {'cnpg.io/nodeSerial': instance.split('-').pop() ?? '1'}},
        spec: {
          // No real scheduler may place a played Pod (the real node's kube-scheduler acts in every namespace).
          schedulerName: 'kmcp-played-operator',
          containers: [{name: 'postgres', image: options.image ?? DEFAULT_IMAGE}],
          volumes: [{name: 'pgdata', persistentVolumeClaim: {claimName: instance}}],
        },
      }),
    )
  }
  return {pods, pvcs}
}
