/**
 * The one-sentence descriptions of the parameters many tools share. The zod declarations carry
 * them (the tool reference document, docs://kmcp/tools, shows them); tools/list leaves them out,
 * with their defaults, because the server instructions explain these parameters once
 * (src/lib/server/tool-list-compact.ts and mcp-server.ts). No runtime imports: the compaction that
 * reads this runs without loading the tools.
 */
import type {z} from 'zod'

export const SHARED_PARAMETER_DESCRIPTIONS = {
  namespace: 'Default: the server\'s.',
  format: 'Reply format.',
  dryRun: 'Preview only.',
  allNamespaces: 'All namespaces.',
  limit: 'Page size.',
  continue: 'Token of the previous page.',
  detailLevel: '"detailed" adds conditions, storage and configuration.',
  wait: 'Wait for the operator.',
  timeout: 'Seconds to wait.',
  cluster: 'Cluster name.',
  backup: 'Backup name.',
  scheduledBackup: 'ScheduledBackup name.',
  pooler: 'Pooler name.',
  publication: 'Publication name.',
  subscription: 'Subscription name.',
} as const

/** A parameter whose description is one of these is explained by the server instructions. */
export const EXPLAINED_BY_INSTRUCTIONS: ReadonlySet<string> = new Set(Object.values(SHARED_PARAMETER_DESCRIPTIONS))

/**
 * A parameter's description, also when it is declared on the schema that optional() or default()
 * wraps (namespace, for one).
 */
export function declaredDescription(schema: z.ZodType | undefined): string {
  let current = schema
  while (current) {
    if (current.description) return current.description
    current = (current._zod.def as {innerType?: z.ZodType}).innerType
  }
  return ''
}
