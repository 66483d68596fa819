import {defineTool} from '../registry.ts'
import {namespaceParam} from '../validation.ts'
import {HIBERNATION_ANNOTATION, applyAnnotationChange, hibernated} from './maintenance.ts'
import {clusterNameParam} from './params.ts'

export const hibernatePostgresCluster = defineTool({
  name: 'hibernate_postgres_cluster',
  title: 'Hibernate a PostgreSQL cluster',
  description: [
    'Shut a CloudNativePG cluster down while keeping its data: the operator stops every instance (annotation cnpg.io/hibernation=on) and keeps the volumes, so it costs no compute until resume_postgres_cluster.',
    'The database is unavailable while hibernated: the human is asked to confirm when the client supports it; otherwise confirm=true is required. wait=true returns when the operator reports the cluster hibernated.',
    'Example: {"name": "orders-db", "namespace": "payments", "confirm": true, "wait": true}; preview with {"name": "orders-db", "dry_run": true}.',
    'Errors: 404 when the cluster does not exist; 403 without patch permission on clusters (cnpg-cloudnative-pg-edit).',
  ].join('\n'),
  input: {name: clusterNameParam, namespace: namespaceParam},
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
