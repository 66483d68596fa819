import {defineTool} from '../registry.ts'
import {confirmFlag} from '../confirm.ts'
import {dryRunParam, namespaceParam} from '../validation.ts'
import {HIBERNATION_ANNOTATION, applyAnnotationChange} from './maintenance.ts'
import {clusterNameParam} from './params.ts'

export const resumePostgresCluster = defineTool({
  name: 'resume_postgres_cluster',
  title: 'Resume a hibernated PostgreSQL cluster',
  description: [
    'Bring a hibernated CloudNativePG cluster back (annotation cnpg.io/hibernation=off): the operator starts its instances again on the kept volumes.',
    'Asks the human to confirm when the client supports it (instances start and consume resources again); otherwise confirm=true is required.',
    'Example: {"name": "orders-db", "namespace": "payments", "confirm": true}.',
    'Errors: 404 when the cluster does not exist; 403 without patch permission on clusters (cnpg-cloudnative-pg-edit).',
  ].join('\n'),
  input: {name: clusterNameParam, confirm: confirmFlag('to resume the hibernated cluster'), namespace: namespaceParam, dry_run: dryRunParam},
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: (args, context) =>
    applyAnnotationChange(
      {
        tool: 'resume_postgres_cluster',
        args,
        annotation: HIBERNATION_ANNOTATION,
        value: 'off',
        heading: 'resumption',
        alreadyDone: (annotations) => (annotations[HIBERNATION_ANNOTATION] !== 'on' ? `Cluster ${args.name} is not hibernated.` : undefined),
        describe: (ref) => `Resuming ${ref} starts its PostgreSQL instances again on the kept volumes.`,
        done: (ref, name, namespace) => `Successfully requested resumption of cluster ${ref} (cnpg.io/hibernation=off). Follow it with get_cluster_status({"name": "${name}", "namespace": "${namespace}"}).`,
      },
      context,
    ),
})
