import {z} from 'zod'
import {listScoped} from './scoped-list.ts'
import type {ToolContext} from '../registry.ts'
import {allNamespacesParam, continueParam, formatParam, kubeName, limitParam, namespaceParam} from '../validation.ts'
import {truncationSchema} from '../budget.ts'
import type {CnpgPlural} from './api.ts'

/** The list tools for backups and schedules: one page of CNPG objects, optionally of one cluster. */

export const listInput = (what: string) => ({
  namespace: namespaceParam(),
  all_namespaces: allNamespacesParam(),
  cluster: kubeName('cluster', {maxLength: 50, description: `Only ${what} of this cluster.`}).optional(),
  format: formatParam(),
  limit: limitParam(),
  continue: continueParam(),
})

/** The fields every paged list tool returns beside its items. */
export const pageOutput = (what: string) => ({
  count: z.number().describe(`Number of ${what} in this page`),
  scope: z.string().describe('Which namespace(s) were listed'),
  continue: z.string().optional().describe('Pass back as "continue" to get the next page'),
  truncated: truncationSchema(),
})

interface ListArgs {
  namespace?: string
  all_namespaces: boolean
  cluster?: string
  limit?: number
  continue?: string
}

export async function listCnpgPage<T extends {spec: {cluster?: {name: string}}}>(context: ToolContext, plural: CnpgPlural, what: string, args: ListArgs): Promise<{items: T[]; scope: string; continue?: string}> {
  const {list, scope: where} = await listScoped<T>(context, plural, what, args)
  const scope = `${where}${args.cluster ? `, cluster ${args.cluster}` : ''}`
  const items = list.items.filter((item) => !args.cluster || item.spec.cluster?.name === args.cluster)
  return {items, scope, continue: list.metadata.continue || undefined}
}

/** The text of such a page: a header, one block per item, and how to get more. */
export function renderPage(options: {what: string; scope: string; lines: string[]; continue?: string; omitted?: number; howToGetTheRest?: string; emptyHint: string}): string {
  const lines = options.lines.length === 0 ? [`No ${options.what} found in ${options.scope}${options.continue ? ' in this page' : ''}. ${options.emptyHint}`] : [`Found ${options.lines.length} ${options.what} in ${options.scope}:`, ...options.lines]
  if (options.omitted) lines.push(`[${options.omitted} more left out to stay within the response budget. ${options.howToGetTheRest ?? ''}]`)
  if (options.continue) lines.push(`More exist: call again with "continue": "${options.continue}".`)
  return lines.join('\n')
}
