import {z} from 'zod'
import type {KubeClient} from '../../k8s/client.ts'
import {defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {truncationSchema} from '../budget.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {type DatabaseRole, findManagedObject} from './objects.ts'
import {clusterNameParam, roleNameParam} from './params.ts'
import {renderRoleAttributes, renderRoleStatus, roleSchema, roleStatusSchema, summarizeRole, summarizeRoleStatus} from './role-summary.ts'

/** The DatabaseRole of a role, or an error that says how to find the right name. */
export async function requireRole(
  kube: KubeClient,
  namespace: string,
  cluster: string,
  role: string,
  signal: AbortSignal,
): Promise<DatabaseRole> {
  const found = await findManagedObject<{plural: 'databaseroles'; item: DatabaseRole}>(kube, 'databaseroles', namespace, cluster, role, signal)
  if (!found) {
    throw new ToolError(`No DatabaseRole for role "${role}" of cluster ${cluster} was found in namespace ${namespace}. list_postgres_roles shows the roles of the cluster (roles in spec.managed.roles are listed as legacy and are not DatabaseRole objects).`)
  }
  return found
}

export const getPostgresRoleStatus = defineTool({
  name: 'get_postgres_role_status',
  title: 'Get PostgreSQL role status',
  description: [
    'One managed role: attributes, reclaim policy, password Secret name and the operator\'s status. Use it after creating or updating a role.',
    'Example: {"cluster_name": "orders-db", "role_name": "app_reader"}.',
    'Errors: "No DatabaseRole … was found"; 403.',
  ].join('\n'),
  get input() {
    return {cluster_name: clusterNameParam(), role_name: roleNameParam(), namespace: namespaceParam(), format: formatParam()}
  },
  get output() {
    return {
      cluster: z.string(),
      namespace: z.string(),
      crd_name: z.string(),
      role_name: z.string(),
      ensure: z.string(),
      reclaim_policy: z.string(),
      generation: z.number().optional(),
      resource_version: z.string().optional(),
      attributes: roleSchema(),
      status: roleStatusSchema(),
      truncated: truncationSchema(),
    }
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const role = await requireRole(kube, namespace, args.cluster_name, args.role_name, context.signal)
    const attributes = summarizeRole(role)
    const structured = {
      cluster: args.cluster_name,
      namespace,
      crd_name: role.metadata.name,
      role_name: role.spec.name,
      ensure: attributes.ensure,
      reclaim_policy: attributes.reclaim_policy,
      generation: role.metadata.generation,
      resource_version: role.metadata.resourceVersion,
      attributes,
      status: summarizeRoleStatus(role),
    }
    return {
      structured,
      render: (s: typeof structured) =>
        [
          `**Role: ${s.namespace}/${s.crd_name}**`,
          `- Role Name: ${s.role_name}`,
          `- Cluster: ${s.cluster}`,
          `- Ensure: ${s.ensure}`,
          `- Reclaim Policy: ${s.reclaim_policy}`,
          `- Generation: ${s.generation ?? 'unknown'}`,
          `- Resource Version: ${s.resource_version ?? 'unknown'}`,
          '',
          'Role Attributes:',
          ...renderRoleAttributes(s.attributes),
          '',
          ...renderRoleStatus(s.status),
        ].join('\n'),
    }
  },
})
