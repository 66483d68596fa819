import {z} from 'zod'
import {defineTool, type ToolReply} from '../registry.ts'
import {ToolError, kubeStep} from '../errors.ts'
import {cnpgPath} from '../cnpg/api.ts'
import {namespaceParam} from '../validation.ts'
import {roleSecretName} from './names.ts'
import {type DatabaseRole, findManagedObject} from './objects.ts'
import {clusterNameParam, roleNameParam} from './params.ts'
import {deleteKmcpSecret, isKmcpRoleSecret, readSecret} from './secrets.ts'

export const deletePostgresRole = defineTool({
  name: 'delete_postgres_role',
  title: 'Delete a PostgreSQL role',
  description: [
    'Delete a role\'s DatabaseRole and its kmcp-made password Secret. Reclaim policy "retain" keeps the role in PostgreSQL; "delete" drops it; drop_role=true sets "delete" first (confirm_deletion).',
    'Example: {"cluster_name": "orders-db", "role_name": "app_reader", "drop_role": true, "dry_run": true}.',
    'Errors: "nothing to delete"; 403.',
  ].join('\n'),
  get input() {
    return {
      cluster_name: clusterNameParam(),
      role_name: roleNameParam(),
      drop_role: z.boolean().default(false).describe('Drop the role in PostgreSQL too (its objects must be reassigned first).'),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_deletion', when: 'to drop a role', message: (args) => `Delete role ${String(args.role_name)} of cluster ${String(args.cluster_name)}.`},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const namespace = await context.namespace(args.namespace)
    const kube = await context.kube()
    const role = await findManagedObject<{plural: 'databaseroles'; item: DatabaseRole}>(kube, 'databaseroles', namespace, args.cluster_name, args.role_name, context.signal)
    const secretName = role?.spec.passwordSecret?.name ?? roleSecretName(args.cluster_name, args.role_name)
    const secret = await readSecret(kube, namespace, secretName, context.signal)
    const secretIsKmcp = secret !== undefined && isKmcpRoleSecret(secret)
    const secretFate = !secret ? `no Secret ${secretName} exists` : secretIsKmcp ? `Secret ${secretName} (created by kmcp) is deleted` : `Secret ${secretName} was not created by kmcp and is kept`

    if (!role) {
      const target = `${namespace}/${secretName}`
      if (!secretIsKmcp) throw new ToolError(`Role "${args.role_name}" of cluster ${args.cluster_name} has no DatabaseRole in namespace ${namespace}, and ${secret ? `Secret ${secretName} was not created by kmcp` : `no Secret ${secretName} exists`}: nothing to delete. list_postgres_roles shows the managed roles.`)
      context.explain(`Role "${args.role_name}" has no DatabaseRole: delete the orphaned Secret ${secretName} created by kmcp.`, {destructive: false})
      const result = await deleteKmcpSecret(kube, namespace, secretName, context.signal, secret.metadata.uid)
      return {structured: {status: 'secret_cleaned_up', secret: secretName, result}, target, render: () => `Cleaned up orphaned PostgreSQL role secret ${secretName} (created by kmcp; role "${args.role_name}" had no DatabaseRole).`}
    }

    const target = `${namespace}/${role.metadata.name}`
    const currentPolicy = role.spec.databaseRoleReclaimPolicy ?? 'retain'
    const drops = args.drop_role || currentPolicy === 'delete'
    const outcomeText = drops
      ? `the role "${role.spec.name}" will be dropped from PostgreSQL${args.drop_role && currentPolicy !== 'delete' ? ' (reclaim policy forced to "delete" by drop_role)' : ' (reclaim policy "delete")'}`
      : `the role "${role.spec.name}" will be retained in PostgreSQL (reclaim policy "retain"); only its DatabaseRole is removed`
    const preview = [`Deleting DatabaseRole ${target}:`, `- ${outcomeText}`, `- ${secretFate}`].join('\n')
    const deleteRequest = {method: 'DELETE' as const, path: cnpgPath('databaseroles', namespace, role.metadata.name), body: {apiVersion: 'v1', kind: 'DeleteOptions', preconditions: {uid: role.metadata.uid}}, signal: context.signal}
    const action = `deleting DatabaseRole ${target}`

    // Only dropping the PostgreSQL role loses something; removing the object of a retained role does not.
    context.explain(drops ? `${preview}\nThe role's privileges and memberships are lost.` : preview, {destructive: drops})
    if (args.drop_role && currentPolicy !== 'delete') {
      await kubeStep(`setting the reclaim policy of DatabaseRole ${target} to delete`, () =>
        kube.request({method: 'PATCH', path: deleteRequest.path, contentType: 'application/merge-patch+json', body: {spec: {databaseRoleReclaimPolicy: 'delete'}}, signal: context.signal}),
      )
    }
    await kubeStep(action, () => kube.request(deleteRequest))
    const secretResult = secretIsKmcp ? await deleteKmcpSecret(kube, namespace, secretName, context.signal, secret.metadata.uid) : 'foreign'
    const lines = [`Deleted DatabaseRole ${target}: ${outcomeText}.`]
    if (secretResult === 'deleted') lines.push(`Deleted Secret ${secretName} (created by kmcp).`)
    else if (secret) lines.push(`Kept Secret ${secretName}: it was not created by kmcp.`)
    return {
      structured: {status: 'deleted', crd_name: role.metadata.name, role_name: role.spec.name, drops_role: drops, secret: secretName, secret_deleted: secretResult === 'deleted'},
      target,
      render: () => lines.join('\n'),
    }
  },
})
