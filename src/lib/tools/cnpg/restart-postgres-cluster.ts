import {defineTool} from '../registry.ts'
import {defaultWaitTimeout} from '../wait.ts'
import {namespaceParam} from '../validation.ts'
import {RESTARTED_AT_ANNOTATION, applyAnnotationChange, restartedSince} from './maintenance.ts'
import {clusterNameParam} from './params.ts'

export const restartPostgresCluster = defineTool({
  name: 'restart_postgres_cluster',
  title: 'Rolling restart of a PostgreSQL cluster',
  description: [
    'Restart every instance of a CloudNativePG cluster, replicas first and the primary last (with a switchover or restart as the cluster\'s primaryUpdateMethod says), like "kubectl cnpg restart": it sets the annotation kubectl.kubernetes.io/restartedAt to now.',
    'Use it after changing settings that need a restart, or to recover from a stuck state. Causes a short write interruption: the human is asked to confirm when the client supports it; otherwise confirm=true is required. wait=true returns when the cluster is healthy again after the restart.',
    'Example: {"name": "orders-db", "namespace": "payments", "confirm": true}.',
    'Errors: 404 when the cluster does not exist; 403 without patch permission on clusters (cnpg-cloudnative-pg-edit).',
  ].join('\n'),
  input: {name: clusterNameParam, namespace: namespaceParam},
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false},
  confirm: {flag: 'confirm', when: 'to restart every instance of the cluster', message: (args) => `Restart every instance of cluster ${String(args.name)} (short write interruption).`},
  waits: true,
  handler: (args, context) => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    return applyAnnotationChange(
      {
        args,
        annotation: RESTARTED_AT_ANNOTATION,
        value: now,
        alreadyDone: () => undefined,
        describe: (ref) => `Restarting ${ref} restarts every instance one by one, the primary last: expect a short interruption of writes.`,
        done: (ref, name, namespace) => `Successfully requested a rolling restart of cluster ${ref}. Follow it with get_cluster_status({"name": "${name}", "namespace": "${namespace}"}), or pass wait=true.`,
        finished: restartedSince(now),
        defaultTimeout: defaultWaitTimeout,
      },
      context,
    )
  },
})
