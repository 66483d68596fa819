import {defineTool} from '../registry.ts'
import {namespaceParam} from '../validation.ts'
import {poolerNameParam, setPoolerPaused} from './poolers.ts'

export const pausePooler = defineTool({
  name: 'pause_pooler',
  title: 'Pause a PgBouncer pooler',
  description: [
    'Pause a Pooler: PgBouncer holds new queries (clients stall, no errors) until resume_pooler. For short maintenance such as a switchover.',
    'Example: {"name": "orders-db-pooler-rw", "confirm": true}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {name: poolerNameParam(), namespace: namespaceParam()}
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false},
  confirm: {flag: 'confirm', when: 'to pause the pooler (queries wait until resume_pooler)', message: (args) => `Pause pooler ${String(args.name)}: applications stall until resume_pooler.`},
  handler: (args, context) => setPoolerPaused(context, args, true),
})
