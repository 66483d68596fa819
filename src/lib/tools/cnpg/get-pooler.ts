import {defineTool} from '../registry.ts'
import {truncationSchema} from '../budget.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {conditionSchema, summarizeConditions} from './api.ts'
import {loadPooler, poolerNameParam, poolerPods, poolerSummarySchema, renderPoolerDetails, summarizePooler} from './poolers.ts'

export const getPooler = defineTool({
  name: 'get_pooler',
  title: 'Get one PgBouncer pooler',
  description: [
    'One Pooler: cluster, type, pool mode, parameters, paused, its Service and each PgBouncer pod.',
    'Example: {"name": "orders-db-pooler-rw"}.',
    'Errors: 404, 403.',
  ].join('\n'),
  get input() {
    return {name: poolerNameParam(), namespace: namespaceParam(), format: formatParam()}
  },
  get output() {
    return poolerSummarySchema().extend({conditions: conditionSchema().array().optional(), truncated: truncationSchema()}).shape
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const {kube, namespace, pooler} = await loadPooler(context, args.name, args.namespace)
    const pods = await poolerPods(kube, namespace, args.name, context.signal)
    const structured = {...summarizePooler(pooler), pods, ready_pods: pods?.filter((p) => p.ready).length, conditions: summarizeConditions(pooler.status?.conditions)}
    return {structured, render: (s: typeof structured) => renderPoolerDetails(s, s.conditions)}
  },
})
