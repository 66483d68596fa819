import {z} from 'zod'
import {listScoped} from './scoped-list.ts'
import {defineTool} from '../registry.ts'
import {pageOutput} from './list-objects.ts'
import {continueParam, detailLevelParam, formatParam, limitParam, namespaceParam} from '../validation.ts'
import type {CnpgCluster} from './api.ts'
import {clusterSummarySchema, renderClusterSummary, summarizeCluster} from './cluster-summary.ts'

export const listPostgresClusters = defineTool({
  name: 'list_postgres_clusters',
  title: 'List PostgreSQL clusters',
  description: [
    'List the CloudNativePG PostgreSQL clusters in one namespace (default) or in all namespaces, with their status: phase, ready/desired instances ("X/Y ready") and current primary.',
    'Use it first to discover cluster names before calling get_cluster_status or any change tool.',
    'Example: {"namespace": "payments", "detail_level": "detailed"}; all namespaces: {"all_namespaces": true, "limit": 50}.',
    'Long lists come in pages: when the result includes a "continue" token, call again with the same arguments plus {"continue": "<token>"}.',
    'Errors: 403 when kmcp may not list clusters in that namespace (ask for a binding to cnpg-cloudnative-pg-view); 404 when the CNPG CRDs are not installed; 410 when a continue token expired (start again without it).',
  ].join('\n'),
  input: {
    namespace: namespaceParam,
    all_namespaces: z.boolean().default(false).describe('true: list clusters in every namespace kmcp can read (ignores "namespace").'),
    detail_level: detailLevelParam,
    format: formatParam,
    limit: limitParam,
    continue: continueParam,
  },
  output: {
    clusters: z.array(clusterSummarySchema),
    ...pageOutput('clusters'),
    remaining_item_count: z.number().optional(),
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const {list, scope} = await listScoped<CnpgCluster>(context, 'clusters', 'PostgreSQL clusters', args)
    const detailed = args.detail_level === 'detailed'
    const clusters = list.items.map((item) => summarizeCluster(item, detailed))
    const structured = {
      clusters,
      count: clusters.length,
      scope,
      continue: list.metadata.continue || undefined,
      remaining_item_count: list.metadata.remainingItemCount,
    }
    return {
      structured,
      listField: 'clusters',
      moreHint: 'Call again with a smaller "limit" and page with "continue", or use detail_level="concise".',
      render: (s: typeof structured & {truncated?: {omitted_items?: number; how_to_get_the_rest: string}}) => {
        if (s.clusters.length === 0 && !s.continue) {
          return `No PostgreSQL clusters found in ${s.scope}. Create one with create_postgres_cluster, or check the namespace (all_namespaces=true lists every namespace you can read).`
        }
        const lines = [`Found ${s.clusters.length} PostgreSQL cluster(s) in ${s.scope}:`, '']
        for (const cluster of s.clusters) lines.push(renderClusterSummary(cluster), '')
        const truncated = s.truncated
        if (truncated?.omitted_items) lines.push(`[${truncated.omitted_items} more cluster(s) in this page were left out to stay within the response budget. ${truncated.how_to_get_the_rest}]`)
        if (s.continue) lines.push(`More clusters exist${s.remaining_item_count ? ` (about ${s.remaining_item_count} more)` : ''}: call again with "continue": "${s.continue}".`)
        return lines.join('\n').trimEnd()
      },
    }
  },
})
