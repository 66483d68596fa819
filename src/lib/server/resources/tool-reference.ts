import type {z} from 'zod'
import type {Toolset} from '../../tools/registry.ts'

/**
 * The tool reference document (docs://kmcp/tools), generated from the mounted toolsets so it
 * always matches what tools/list offers.
 */
export function renderToolReference(toolsets: Toolset[]): string {
  const lines = ['# kmcp tools', '', 'Tools for CloudNativePG PostgreSQL clusters on Kubernetes. Change tools accept dry_run=true (validated by the API server, nothing stored); destructive ones need confirmation.', '']
  for (const toolset of toolsets) {
    lines.push(`## ${toolset.description}`, '')
    for (const tool of toolset.tools) {
      const a = tool.annotations
      const traits = [a.readOnlyHint ? 'read-only' : 'changes state', a.destructiveHint ? 'destructive' : undefined, a.idempotentHint ? 'idempotent' : undefined].filter(Boolean).join(', ')
      lines.push(`### ${tool.name}: ${tool.title}`, '', `_${traits}_`, '', tool.description, '')
      const params = Object.entries(tool.input as Record<string, z.ZodType>)
      if (params.length > 0) {
        lines.push('| Parameter | Required | Description |', '|---|---|---|')
        for (const [name, schema] of params) {
          lines.push(`| ${name} | ${schema.isOptional() ? 'no' : 'yes'} | ${(schema.description ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ')} |`)
        }
        lines.push('')
      }
    }
  }
  return lines.join('\n').trimEnd() + '\n'
}
