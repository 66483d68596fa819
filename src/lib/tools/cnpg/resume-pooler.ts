import {defineTool} from '../registry.ts'
import {namespaceParam} from '../validation.ts'
import {poolerNameParam, setPoolerPaused} from './poolers.ts'

export const resumePooler = defineTool({
  name: 'resume_pooler',
  title: 'Resume a paused PgBouncer pooler',
  description: [
    'Resume a paused Pooler: the held queries go on to PostgreSQL.',
    'Example: {"name": "orders-db-pooler-rw"}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {name: poolerNameParam(), namespace: namespaceParam()}
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: (args, context) => setPoolerPaused(context, args, false),
})
