import type {KubeClient} from '../../k8s/client.ts'
import {KubeApiError} from '../../k8s/errors.ts'
import {type CnpgCluster, type KubeCondition, type ObjectList, type ObjectMeta, cnpgPath} from '../cnpg/api.ts'
import {ToolError, kubeStep} from '../errors.ts'
import {objectNameFor} from './names.ts'

/** CNPG DatabaseRole (v1.30 "first-class roles"): the fields kmcp reads and writes. */
export interface DatabaseRole {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  spec: {
    name: string
    cluster: {name: string}
    ensure?: 'present' | 'absent'
    databaseRoleReclaimPolicy?: 'retain' | 'delete'
    login?: boolean
    superuser?: boolean
    inherit?: boolean
    createdb?: boolean
    createrole?: boolean
    replication?: boolean
    bypassrls?: boolean
    inRoles?: string[]
    connectionLimit?: number
    validUntil?: string
    comment?: string
    disablePassword?: boolean
    passwordSecret?: {name: string}
    clientCertificate?: {enabled?: boolean}
  }
  status?: {
    applied?: boolean
    observedGeneration?: number
    message?: string
    clientCertificate?: {expiration?: string; message?: string}
    conditions?: KubeCondition[]
    secretResourceVersion?: string
  }
}

/** Status of one object the operator manages inside a database (schema, extension, …). */
export interface DatabaseObjectStatus {
  name: string
  applied: boolean
  message?: string
}

/** CNPG Database: the fields kmcp reads and writes. */
export interface Database {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  spec: {
    name: string
    owner: string
    cluster: {name: string}
    ensure?: 'present' | 'absent'
    databaseReclaimPolicy?: 'retain' | 'delete'
    encoding?: string
    locale?: string
    localeProvider?: string
    localeCollate?: string
    localeCType?: string
    icuLocale?: string
    icuRules?: string
    builtinLocale?: string
    collationVersion?: string
    template?: string
    tablespace?: string
    connectionLimit?: number
    isTemplate?: boolean
    allowConnections?: boolean
    [key: string]: unknown
  }
  status?: {
    applied?: boolean
    observedGeneration?: number
    message?: string
    schemas?: DatabaseObjectStatus[]
    extensions?: DatabaseObjectStatus[]
    fdws?: DatabaseObjectStatus[]
    servers?: DatabaseObjectStatus[]
  }
}

/** Reads a cluster; a missing cluster is an error that says how to find the right name. */
export async function getCluster(kube: KubeClient, namespace: string, name: string, signal: AbortSignal): Promise<CnpgCluster> {
  try {
    return await kube.request<CnpgCluster>({method: 'GET', path: cnpgPath('clusters', namespace, name), signal})
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) {
      throw new ToolError(`PostgreSQL cluster "${name}" was not found in namespace ${namespace}. Use list_postgres_clusters (namespace "${namespace}") to see the clusters there, and check the namespace.`)
    }
    return kubeStep(`getting cluster ${namespace}/${name}`, () => Promise.reject(error))
  }
}

type Managed = {plural: 'databaseroles'; item: DatabaseRole} | {plural: 'databases'; item: Database}

/**
 * Finds the DatabaseRole or Database of a cluster by its PostgreSQL name: the conventional
 * object name `<cluster>-<name>` first, then any object of the namespace whose spec matches
 * (objects made by other tools may be named differently). Undefined when none exists.
 */
export async function findManagedObject<M extends Managed>(
  kube: KubeClient,
  plural: M['plural'],
  namespace: string,
  cluster: string,
  postgresObjectName: string,
  signal: AbortSignal,
): Promise<M['item'] | undefined> {
  const kind = plural === 'databaseroles' ? 'DatabaseRole' : 'Database'
  const matches = (item: M['item']) => item.spec?.cluster?.name === cluster && item.spec?.name === postgresObjectName
  const conventional = objectNameFor(cluster, postgresObjectName)
  try {
    const item = await kube.request<M['item']>({method: 'GET', path: cnpgPath(plural, namespace, conventional), signal})
    if (matches(item)) return item
  } catch (error) {
    if (!(error instanceof KubeApiError && error.status === 404)) {
      return kubeStep(`getting ${kind} ${namespace}/${conventional}`, () => Promise.reject(error))
    }
  }
  const list = await listManagedObjects<M>(kube, plural, namespace, cluster, signal)
  const found = list.filter(matches)
  if (found.length > 1) {
    throw new ToolError(`Several ${kind} objects in namespace ${namespace} declare "${postgresObjectName}" for cluster ${cluster}: ${found.map((f) => f.metadata.name).join(', ')}. Remove the duplicates with kubectl before changing it with kmcp.`)
  }
  return found[0]
}

/** Every DatabaseRole or Database of a namespace that belongs to the cluster. */
export async function listManagedObjects<M extends Managed>(kube: KubeClient, plural: M['plural'], namespace: string, cluster: string, signal: AbortSignal): Promise<Array<M['item']>> {
  const kind = plural === 'databaseroles' ? 'DatabaseRoles' : 'Databases'
  const list = await kubeStep(`listing ${kind} in namespace ${namespace}`, () => kube.request<ObjectList<M['item']>>({method: 'GET', path: cnpgPath(plural, namespace), signal}))
  return list.items.filter((item) => item.spec?.cluster?.name === cluster).sort((a, b) => a.spec.name.localeCompare(b.spec.name))
}

/** Role names declared the old way, inside Cluster spec.managed.roles. */
export function legacyManagedRoles(cluster: CnpgCluster): string[] {
  return (cluster.spec.managed?.roles ?? []).map((role) => String(role.name ?? '')).filter(Boolean)
}
