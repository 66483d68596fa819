import type {KubeClient} from '../../k8s/client.ts'
import {type CnpgCluster, type ObjectList, cnpgPath} from '../../tools/cnpg/api.ts'
import {type ToolEnvironment, kubeForCaller} from '../../tools/registry.ts'
import {log} from '../logger.ts'

const COMPLETION_LIMIT = 100

export interface ClusterCompleters {
  namespace(value: string): Promise<string[]>
  /** Cluster names in `namespace` (the default namespace when empty). */
  cluster(value: string, namespace?: string): Promise<string[]>
}

/** The Kubernetes client of the session's caller (completion requests carry no request context). */
export function sessionKube(env: ToolEnvironment): Promise<KubeClient> {
  return env.sessionIdentity ? kubeForCaller(env, env.sessionIdentity) : env.kube.get()
}

/**
 * Completion of namespace and cluster names from the API server, for resource template
 * arguments and prompt arguments alike.
 */
export function clusterCompleters(env: ToolEnvironment): ClusterCompleters {
  return {
    namespace: async (value) => {
      const kube = await sessionKube(env)
      try {
        const list = await kube.request<ObjectList<{metadata: {name: string}}>>({method: 'GET', path: '/api/v1/namespaces', query: {limit: 500}})
        return list.items.map((n) => n.metadata.name).filter((n) => n.startsWith(value)).slice(0, COMPLETION_LIMIT)
      } catch {
        // Callers who may not list namespaces still get the one kmcp would use by default.
        return kube.defaultNamespace.startsWith(value) ? [kube.defaultNamespace] : []
      }
    },
    cluster: async (value, namespace) => {
      const kube = await sessionKube(env)
      const where = namespace || kube.defaultNamespace
      try {
        const list = await kube.request<ObjectList<CnpgCluster>>({method: 'GET', path: cnpgPath('clusters', where), query: {limit: 500}})
        return list.items.map((c) => c.metadata.name).filter((n) => n.startsWith(value)).slice(0, COMPLETION_LIMIT)
      } catch (error) {
        log.debug('cluster name completion failed', {namespace: where, error: error instanceof Error ? error.message : String(error)})
        return []
      }
    },
  }
}
