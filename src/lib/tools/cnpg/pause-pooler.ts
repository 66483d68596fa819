import {defineTool} from '../registry.ts'
import {namespaceParam} from '../validation.ts'
import {poolerNameParam, setPoolerPaused} from './poolers.ts'

export const pausePooler = defineTool({
  name: 'pause_pooler',
  title: 'Pause a PgBouncer pooler',
  description: [
    'Pause a CloudNativePG Pooler (spec.pgbouncer.paused=true): PgBouncer keeps client connections but holds new queries until resume_pooler. Use it for short maintenance (e.g. a switchover) without clients seeing errors.',
    'Applications stall while paused: the human is asked to confirm when the client supports it; otherwise confirm=true is required.',
    'Example: {"name": "orders-db-pooler-rw", "namespace": "payments", "confirm": true}; preview with dry_run=true.',
    'Errors: 404 when the Pooler does not exist (list_poolers); 403 without patch permission on poolers (cnpg-cloudnative-pg-edit).',
  ].join('\n'),
  input: {name: poolerNameParam, namespace: namespaceParam},
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false},
  confirm: {flag: 'confirm', when: 'to pause the pooler (queries wait until resume_pooler)', message: (args) => `Pause pooler ${String(args.name)}: applications stall until resume_pooler.`},
  handler: (args, context) => setPoolerPaused(context, args, true),
})
