import {defineTool} from '../registry.ts'
import {confirmFlag} from '../confirm.ts'
import {dryRunParam, namespaceParam} from '../validation.ts'
import {RESTARTED_AT_ANNOTATION, applyAnnotationChange} from './maintenance.ts'
import {clusterNameParam} from './params.ts'

export const restartPostgresCluster = defineTool({
  name: 'restart_postgres_cluster',
  title: 'Rolling restart of a PostgreSQL cluster',
  description: [
    'Restart every instance of a CloudNativePG cluster, replicas first and the primary last (with a switchover or restart as the cluster\'s primaryUpdateMethod says), like "kubectl cnpg restart": it sets the annotation kubectl.kubernetes.io/restartedAt to now.',
    'Use it after changing settings that need a restart, or to recover from a stuck state. Causes a short write interruption: the human is asked to confirm when the client supports it; otherwise confirm=true is required.',
    'Example: {"name": "orders-db", "namespace": "payments", "confirm": true}.',
    'Errors: 404 when the cluster does not exist; 403 without patch permission on clusters (cnpg-cloudnative-pg-edit).',
  ].join('\n'),
  input: {name: clusterNameParam, confirm: confirmFlag('to restart every instance of the cluster'), namespace: namespaceParam, dry_run: dryRunParam},
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  handler: (args, context) =>
    applyAnnotationChange(
      {
        tool: 'restart_postgres_cluster',
        args,
        annotation: RESTARTED_AT_ANNOTATION,
        value: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        heading: 'restart',
        alreadyDone: () => undefined,
        describe: (ref) => `Restarting ${ref} restarts every instance one by one, the primary last: expect a short interruption of writes.`,
        done: (ref, name, namespace) => `Successfully requested a rolling restart of cluster ${ref}. Follow it with get_cluster_status({"name": "${name}", "namespace": "${namespace}"}).`,
      },
      context,
    ),
})
