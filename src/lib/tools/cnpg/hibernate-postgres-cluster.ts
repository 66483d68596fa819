import {defineTool} from '../registry.ts'
import {namespaceParam} from '../validation.ts'
import {HIBERNATION_ANNOTATION, applyAnnotationChange, hibernated} from './maintenance.ts'
import {clusterNameParam} from './params.ts'

export const hibernatePostgresCluster = defineTool({
  name: 'hibernate_postgres_cluster',
  title: 'Hibernate a PostgreSQL cluster',
  description: [
    'Stop every instance but keep the volumes (cnpg.io/hibernation=on); the database is down until resume_postgres_cluster.',
    'Example: {"name": "orders-db", "confirm": true, "wait": true}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {name: clusterNameParam(), namespace: namespaceParam()}
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false},
  confirm: {flag: 'confirm', when: 'to hibernate the cluster (every instance stops; data is kept)', message: (args) => `Hibernate cluster ${String(args.name)}: every instance stops.`},
  waits: true,
  handler: (args, context) =>
    applyAnnotationChange(
      {
        args,
        annotation: HIBERNATION_ANNOTATION,
        value: 'on',
        alreadyDone: (annotations) => (annotations[HIBERNATION_ANNOTATION] === 'on' ? `Cluster ${args.name} is already hibernated.` : undefined),
        describe: (ref) => `Hibernating ${ref} stops ALL its PostgreSQL instances: applications lose the database until resume_postgres_cluster. Data volumes are kept.`,
        done: (ref, name, namespace) => `Successfully requested hibernation of cluster ${ref} (cnpg.io/hibernation=on). The operator stops its instances and keeps the volumes. Resume with resume_postgres_cluster({"name": "${name}", "namespace": "${namespace}"}).`,
        finished: hibernated,
        defaultTimeout: (instances) => Math.min(600, 60 + 30 * instances),
      },
      context,
    ),
})
