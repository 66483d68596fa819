import {type McpServer, ResourceTemplate} from '@modelcontextprotocol/sdk/server/mcp.js'
import {ErrorCode, McpError, type ReadResourceResult, type ServerNotification, type ServerRequest} from '@modelcontextprotocol/sdk/types.js'
import type {RequestHandlerExtra} from '@modelcontextprotocol/sdk/shared/protocol.js'
import type {KubeClient} from '../../k8s/client.ts'
import {KubeApiError, describeKubeError} from '../../k8s/errors.ts'
import {type CnpgCluster, type ObjectList, cnpgPath} from '../../tools/cnpg/api.ts'
import {summarizeCluster} from '../../tools/cnpg/cluster-summary.ts'
import {type Database, type DatabaseRole, listManagedObjects} from '../../tools/postgres/objects.ts'
import {summarizeRole} from '../../tools/postgres/role-summary.ts'
import {summarizeDatabase} from '../../tools/postgres/database-summary.ts'
import {type Toolset, type ToolEnvironment, kubeForCaller} from '../../tools/registry.ts'
import {log} from '../logger.ts'
import {renderToolReference} from './tool-reference.ts'
import {exclusionReason} from '../../tools/policy/modes.ts'
import {mountSubscriptions} from './subscriptions.ts'
import {clusterCompleters, sessionKube} from './completion.ts'

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

export const TOOL_REFERENCE_URI = 'docs://kmcp/tools'
export const CLUSTER_TEMPLATE = 'cnpg://{namespace}/clusters/{name}'
export const ROLES_TEMPLATE = 'cnpg://{namespace}/clusters/{name}/roles'
export const DATABASES_TEMPLATE = 'cnpg://{namespace}/clusters/{name}/databases'

/** A JSON resource body. */
function json(uri: URL, value: unknown): ReadResourceResult {
  return {contents: [{uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2)}]}
}

/** Kubernetes failures as MCP errors: a missing object is "resource not found" (-32002). */
function resourceError(error: unknown, action: string): McpError {
  if (error instanceof McpError) return error
  const code = error instanceof KubeApiError && error.status === 404 ? -32002 : ErrorCode.InternalError
  return new McpError(code, describeKubeError(error, action))
}

function single(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '')
}

/**
 * Resources: the tool reference document, and live CNPG objects through URI templates with
 * listing and argument completion read from the API server (on request, never at start-up).
 */
export function mountResources(server: McpServer, env: ToolEnvironment, toolsets: Toolset[]): void {
  const kubeFor = (extra?: Extra): Promise<KubeClient> => (extra ? kubeForCaller(env, env.identityFor(extra)) : sessionKube(env))

  server.registerResource('tool-reference', TOOL_REFERENCE_URI, {title: 'kmcp tool reference', description: 'Every kmcp tool with its purpose, parameters and annotations (Markdown).', mimeType: 'text/markdown'}, (uri) => ({
    contents: [{uri: uri.href, mimeType: 'text/markdown', text: renderToolReference(toolsets, (tool, toolset) => !exclusionReason(tool, toolset, env.policy, env.sessionIdentity))}],
  }))

  const completers = clusterCompleters(env)
  const complete = {namespace: completers.namespace, name: (value: string, context?: {arguments?: Record<string, string>}) => completers.cluster(value, context?.arguments?.namespace)}

  /** resources/list: the clusters of the default namespace (all namespaces would be too many and often forbidden). */
  const listClusters = (suffix: string, what: string) => async (extra: Extra) => {
    try {
      const kube = await kubeFor(extra)
      const namespace = kube.defaultNamespace
      const list = await kube.request<ObjectList<CnpgCluster>>({method: 'GET', path: cnpgPath('clusters', namespace), query: {limit: 100}, signal: extra.signal})
      return {
        resources: list.items.map((c) => ({
          uri: `cnpg://${namespace}/clusters/${c.metadata.name}${suffix}`,
          name: `${namespace}/${c.metadata.name}${suffix}`,
          title: `${what} ${namespace}/${c.metadata.name}`,
          mimeType: 'application/json',
        })),
      }
    } catch (error) {
      log.debug('listing cluster resources failed', {error: error instanceof Error ? error.message : String(error)})
      return {resources: []}
    }
  }

  server.registerResource(
    'cluster',
    new ResourceTemplate(CLUSTER_TEMPLATE, {list: listClusters('', 'Cluster'), complete}),
    {title: 'CNPG cluster status', description: 'Status summary of one CloudNativePG cluster (the fields of get_cluster_status, detailed), as JSON. Subscribe to be told when it changes.', mimeType: 'application/json'},
    async (uri, variables, extra) => {
      const namespace = single(variables.namespace)
      const name = single(variables.name)
      try {
        const kube = await kubeFor(extra)
        const cluster = await kube.request<CnpgCluster>({method: 'GET', path: cnpgPath('clusters', namespace, name), signal: extra.signal})
        return json(uri, summarizeCluster(cluster, true))
      } catch (error) {
        throw resourceError(error, `reading cluster ${namespace}/${name}`)
      }
    },
  )

  server.registerResource(
    'cluster-roles',
    new ResourceTemplate(ROLES_TEMPLATE, {list: listClusters('/roles', 'Roles of'), complete}),
    {title: 'PostgreSQL roles of a cluster', description: 'The DatabaseRoles of one cluster (as list_postgres_roles reports them), as JSON.', mimeType: 'application/json'},
    async (uri, variables, extra) => {
      const namespace = single(variables.namespace)
      const name = single(variables.name)
      try {
        const kube = await kubeFor(extra)
        const roles = await listManagedObjects<{plural: 'databaseroles'; item: DatabaseRole}>(kube, 'databaseroles', namespace, name, extra.signal)
        return json(uri, {cluster: name, namespace, roles: roles.map(summarizeRole)})
      } catch (error) {
        throw resourceError(error, `listing the roles of cluster ${namespace}/${name}`)
      }
    },
  )

  server.registerResource(
    'cluster-databases',
    new ResourceTemplate(DATABASES_TEMPLATE, {list: listClusters('/databases', 'Databases of'), complete}),
    {title: 'PostgreSQL databases of a cluster', description: 'The Database objects of one cluster (as list_postgres_databases reports them), as JSON.', mimeType: 'application/json'},
    async (uri, variables, extra) => {
      const namespace = single(variables.namespace)
      const name = single(variables.name)
      try {
        const kube = await kubeFor(extra)
        const databases = await listManagedObjects<{plural: 'databases'; item: Database}>(kube, 'databases', namespace, name, extra.signal)
        return json(uri, {cluster: name, namespace, databases: databases.map(summarizeDatabase)})
      } catch (error) {
        throw resourceError(error, `listing the databases of cluster ${namespace}/${name}`)
      }
    },
  )

  mountSubscriptions(server, kubeFor)
}
