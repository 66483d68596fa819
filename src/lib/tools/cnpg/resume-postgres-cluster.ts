import {defineTool} from '../registry.ts'
import {defaultWaitTimeout} from '../wait.ts'
import {namespaceParam} from '../validation.ts'
import {HIBERNATION_ANNOTATION, applyAnnotationChange, resumed} from './maintenance.ts'
import {clusterNameParam} from './params.ts'

export const resumePostgresCluster = defineTool({
  name: 'resume_postgres_cluster',
  title: 'Resume a hibernated PostgreSQL cluster',
  description: [
    'Start a hibernated cluster again on its kept volumes.',
    'Example: {"name": "orders-db", "wait": true}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {name: clusterNameParam(), namespace: namespaceParam()}
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  waits: true,
  handler: (args, context) =>
    applyAnnotationChange(
      {
        args,
        annotation: HIBERNATION_ANNOTATION,
        value: 'off',
        alreadyDone: (annotations) => (annotations[HIBERNATION_ANNOTATION] !== 'on' ? `Cluster ${args.name} is not hibernated.` : undefined),
        describe: (ref) => `Resuming ${ref} starts its PostgreSQL instances again on the kept volumes.`,
        done: (ref, name, namespace) => `Successfully requested resumption of cluster ${ref} (cnpg.io/hibernation=off). Follow it with get_cluster_status({"name": "${name}", "namespace": "${namespace}"}), or pass wait=true.`,
        finished: resumed,
        defaultTimeout: defaultWaitTimeout,
      },
      context,
    ),
})
