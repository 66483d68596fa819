import {z} from 'zod'
import {listScoped} from './scoped-list.ts'
import {defineTool} from '../registry.ts'
import {pageOutput} from './list-objects.ts'
import {allNamespacesParam, continueParam, detailLevelParam, formatParam, limitParam, namespaceParam} from '../validation.ts'
import type {CnpgCluster} from './api.ts'
import {clusterSummarySchema, renderClusterSummary, summarizeCluster} from './cluster-summary.ts'

export const listPostgresClusters = defineTool({
  name: 'list_postgres_clusters',
  title: 'List PostgreSQL clusters',
  description: [
    'List CloudNativePG clusters with phase, "X/Y ready" instances and current primary. Use it first to find cluster names.',
    'Example: {"namespace": "payments"}; everywhere: {"all_namespaces": true, "limit": 50}.',
    'Errors: 403; 404 when the CNPG CRDs are missing.',
  ].join('\n'),
  get input() {
    return {
      namespace: namespaceParam(),
      all_namespaces: allNamespacesParam(),
      detail_level: detailLevelParam(),
      format: formatParam(),
      limit: limitParam(),
      continue: continueParam(),
    }
  },
  get output() {
    return {
      clusters: z.array(clusterSummarySchema()),
      ...pageOutput('clusters'),
      remaining_item_count: z.number().optional(),
    }
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
