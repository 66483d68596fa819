import {defineTool} from '../registry.ts'
import {truncationSchema} from '../budget.ts'
import {formatParam, namespaceParam} from '../validation.ts'
import {conditionSchema, summarizeConditions} from './api.ts'
import {loadPooler, poolerNameParam, poolerPods, poolerSummarySchema, renderPoolerDetails, summarizePooler} from './poolers.ts'

export const getPooler = defineTool({
  name: 'get_pooler',
  title: 'Get one PgBouncer pooler',
  description: [
    'Show one CloudNativePG Pooler with its PgBouncer status: the cluster and type it serves, pool mode and parameters, paused or not, the Service to connect to, and each PgBouncer pod (ready, restarts).',
    'Use it after create_pooler or scale_pooler to see the pods become ready, or to check whether a pooler is paused.',
    'Example: {"name": "orders-db-pooler-rw", "namespace": "payments"}.',
    'Errors: 404 when no Pooler has that name (list_poolers shows them); 403 when kmcp may not read poolers there (cnpg-cloudnative-pg-view).',
  ].join('\n'),
  input: {name: poolerNameParam, namespace: namespaceParam, format: formatParam},
  output: poolerSummarySchema.extend({conditions: conditionSchema.array().optional(), truncated: truncationSchema}).shape,
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const {kube, namespace, pooler} = await loadPooler(context, args.name, args.namespace)
    const pods = await poolerPods(kube, namespace, args.name, context.signal)
    const structured = {...summarizePooler(pooler), pods, ready_pods: pods?.filter((p) => p.ready).length, conditions: summarizeConditions(pooler.status?.conditions)}
    return {structured, render: (s: typeof structured) => renderPoolerDetails(s, s.conditions)}
  },
})
