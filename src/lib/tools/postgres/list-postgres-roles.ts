import {z} from 'zod'
import {defineTool} from '../registry.ts'
import {type TruncationNote, truncationSchema} from '../budget.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {type DatabaseRole, getCluster, legacyManagedRoles, listManagedObjects} from './objects.ts'
import {clusterNameParam} from './params.ts'
import {renderRoleAttributes, roleSchema, summarizeRole} from './role-summary.ts'

export const listPostgresRoles = defineTool({
  name: 'list_postgres_roles',
  title: 'List PostgreSQL roles of a cluster',
  description: [
    'List a cluster\'s PostgreSQL roles managed by DatabaseRole objects: attributes, reclaim policy, applied, password Secret (never the password). Roles in spec.managed.roles show as legacy_managed_roles (read-only).',
    'Example: {"cluster_name": "orders-db"}.',
    'Errors: "cluster was not found"; 403.',
  ].join('\n'),
  get input() {
    return {cluster_name: clusterNameParam(), namespace: namespaceParam(), format: formatParam()}
  },
  get output() {
    return {
      cluster: z.string(),
      namespace: z.string(),
      roles: z.array(roleSchema()),
      count: z.number(),
      legacy_managed_roles: z.array(z.string()).describe('Role names in the Cluster\'s spec.managed.roles (not DatabaseRole objects)'),
      truncated: truncationSchema(),
    }
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const cluster = await getCluster(kube, namespace, args.cluster_name, context.signal)
    const roles = await listManagedObjects<{plural: 'databaseroles'; item: DatabaseRole}>(kube, 'databaseroles', namespace, args.cluster_name, context.signal)
    const structured = {
      cluster: args.cluster_name,
      namespace,
      roles: roles.map(summarizeRole),
      count: roles.length,
      legacy_managed_roles: legacyManagedRoles(cluster),
    }
    return {
      structured,
      listField: 'roles',
      moreHint: 'Ask for one role at a time with get_postgres_role_status.',
      render: (s: typeof structured & {truncated?: TruncationNote}) => {
        if (s.roles.length === 0 && s.legacy_managed_roles.length === 0) {
          return `No managed roles found for cluster ${s.namespace}/${s.cluster}. Create one with create_postgres_role.`
        }
        const lines = [`Found ${s.count} managed role(s) for cluster ${s.namespace}/${s.cluster}:`, '']
        for (const role of s.roles) {
          lines.push(`**${role.name}** (DatabaseRole: ${role.crd_name})`, `- Ensure: ${role.ensure}`, `- Reclaim Policy: ${role.reclaim_policy}`, `- Applied: ${role.applied === null ? 'not reported yet' : role.applied ? 'True' : 'False'}`)
          lines.push(...renderRoleAttributes(role), '')
        }
        if (s.legacy_managed_roles.length > 0) {
          lines.push(`Legacy roles in the Cluster's spec.managed.roles (not managed through DatabaseRole; kmcp leaves them alone): ${s.legacy_managed_roles.join(', ')}`)
        }
        if (s.truncated?.omitted_items) lines.push(`[${s.truncated.omitted_items} more role(s) were left out to stay within the response budget. ${s.truncated.how_to_get_the_rest}]`)
        return lines.join('\n').trimEnd()
      },
    }
  },
})
