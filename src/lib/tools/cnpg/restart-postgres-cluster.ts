import {defineTool} from '../registry.ts'
import {defaultWaitTimeout} from '../wait.ts'
import {namespaceParam} from '../validation.ts'
import {RESTARTED_AT_ANNOTATION, applyAnnotationChange, restartedSince} from './maintenance.ts'
import {clusterNameParam} from './params.ts'

export const restartPostgresCluster = defineTool({
  name: 'restart_postgres_cluster',
  title: 'Rolling restart of a PostgreSQL cluster',
  description: [
    'Rolling restart of every instance, primary last (like "kubectl cnpg restart"): a short write interruption. Use it after settings that need a restart.',
    'Example: {"name": "orders-db", "confirm": true}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {name: clusterNameParam(), namespace: namespaceParam()}
  },
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
