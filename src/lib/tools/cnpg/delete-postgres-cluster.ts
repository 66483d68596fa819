import {defineTool, type ToolReply} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {KubeApiError, describeKubeError} from '../../k8s/errors.ts'
import {namespaceParam} from '../validation.ts'
import {KMCP_ROLE_SECRET_SELECTOR, type Secret, deleteKmcpSecret} from '../postgres/secrets.ts'
import {type ObjectList, cnpgPath} from './api.ts'
import {loadCluster} from './cluster-ops.ts'
import {clusterNameParam} from './params.ts'

export const deletePostgresCluster = defineTool({
  name: 'delete_postgres_cluster',
  title: 'Delete a PostgreSQL cluster',
  description: [
    'Delete a cluster with all its instances, volumes and data, and the role Secrets kmcp created for it (no other Secret). Irreversible.',
    'Example: {"name": "orders-db", "dry_run": true}, then {"name": "orders-db", "confirm_deletion": true}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {
      name: clusterNameParam(),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm_deletion', when: 'to delete the cluster', message: (args) => `Delete cluster ${String(args.name)} with all its instances, volumes and data.`},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const target = await loadCluster(context, args.name, args.namespace)
    const {kube, namespace, cluster} = target
    const roleSecrets = await listKmcpRoleSecrets(kube, namespace, args.name, context.signal)
    const instances = cluster.spec.instances ?? 1
    const preview = [
      `Deleting cluster ${target.ref} destroys:`,
      `- ${instances} instance(s) with ${cluster.spec.storage?.size ?? 'unspecified'} of storage each, and ALL their data (PVCs are removed with the cluster)`,
      `- current primary: ${cluster.status?.currentPrimary || 'unknown'}; phase: ${cluster.status?.phase || 'Unknown'}`,
      roleSecrets.names
        ? roleSecrets.names.length > 0
          ? `- role password Secrets created by kmcp: ${roleSecrets.names.join(', ')}`
          : '- no role password Secrets created by kmcp'
        : `- kmcp-created role Secrets could not be listed (${roleSecrets.problem}); they would be left in place`,
      '- Secrets not created by kmcp are not deleted by kmcp (Kubernetes removes the operator-owned ones with the cluster).',
      'Backups in object stores and VolumeSnapshots are not deleted.',
    ].join('\n')
    const action = `deleting cluster ${target.ref}`
    const deleteRequest = {method: 'DELETE' as const, path: cnpgPath('clusters', namespace, args.name), body: {apiVersion: 'v1', kind: 'DeleteOptions', preconditions: {uid: cluster.metadata.uid}}, signal: context.signal}
    context.explain(preview)

    // The uid precondition makes sure a cluster re-created under the same name meanwhile survives.
    await kubeStep(action, () => kube.request({...deleteRequest}))
    const deleted: string[] = []
    const failed: string[] = []
    for (const secret of roleSecrets.items ?? []) {
      try {
        if ((await deleteKmcpSecret(kube, namespace, secret.metadata.name, context.signal, secret.metadata.uid)) === 'deleted') deleted.push(secret.metadata.name)
      } catch (error) {
        failed.push(`${secret.metadata.name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`)
      }
    }
    const lines = [`Successfully deleted cluster ${target.ref}. The operator and Kubernetes are removing its pods and volumes.`]
    if (deleted.length > 0) lines.push(`Cleaned up ${deleted.length} associated role secret(s) created by kmcp: ${deleted.join(', ')}`)
    if (failed.length > 0) lines.push(`Could not delete these kmcp role Secrets (delete them with kubectl): ${failed.join('; ')}`)
    if (!roleSecrets.names) lines.push(`kmcp role Secrets were not checked: ${roleSecrets.problem}`)
    return {structured: {status: 'deleted', cluster: target.ref, deleted_secrets: deleted, failed_secrets: failed}, target: target.ref, render: () => lines.join('\n')}
  },
})

/** kmcp's own role Secrets for the cluster, or why they could not be listed (e.g. no Secret access). */
async function listKmcpRoleSecrets(kube: Parameters<typeof deleteKmcpSecret>[0], namespace: string, cluster: string, signal: AbortSignal): Promise<{items?: Secret[]; names?: string[]; problem?: string}> {
  try {
    const list = await kube.request<ObjectList<Secret>>({
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
      query: {labelSelector: `cnpg.io/cluster=${cluster},${KMCP_ROLE_SECRET_SELECTOR}`},
      signal,
    })
    return {items: list.items, names: list.items.map((s) => s.metadata.name).sort()}
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 403) return {problem: 'kmcp may not list Secrets in this namespace'}
    return {problem: describeKubeError(error, 'listing kmcp role Secrets').split('\n')[0]}
  }
}
