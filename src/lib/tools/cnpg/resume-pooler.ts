import {defineTool} from '../registry.ts'
import {namespaceParam} from '../validation.ts'
import {poolerNameParam, setPoolerPaused} from './poolers.ts'

export const resumePooler = defineTool({
  name: 'resume_pooler',
  title: 'Resume a paused PgBouncer pooler',
  description: [
    'Resume a paused CloudNativePG Pooler (spec.pgbouncer.paused=false): PgBouncer sends the held queries on to PostgreSQL.',
    'Example: {"name": "orders-db-pooler-rw", "namespace": "payments"}; preview with dry_run=true.',
    'Errors: 404 when the Pooler does not exist (list_poolers); 403 without patch permission on poolers (cnpg-cloudnative-pg-edit).',
  ].join('\n'),
  input: {name: poolerNameParam, namespace: namespaceParam},
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: (args, context) => setPoolerPaused(context, args, false),
})
