import type {AnyTool, Toolset} from '../../tools/registry.ts'
import {inputShape} from '../../tools/policy/surface.ts'
import {declaredDescription} from '../../tools/common-parameters.ts'

/**
 * The tool reference document (docs://kmcp/tools), generated from the mounted toolsets so it
 * always matches what tools/list offers.
 */
export function renderToolReference(toolsets: Toolset[], offered: (tool: AnyTool, toolset: Toolset) => boolean = () => true): string {
  const lines = ['# kmcp tools', '', 'Tools for CloudNativePG PostgreSQL clusters on Kubernetes. Change tools accept dry_run=true (validated by the API server, nothing stored); destructive ones need confirmation, and a refused call is an error starting with REFUSED (docs/safety.md).', '']
  for (const toolset of toolsets) {
    lines.push(`## ${toolset.description}`, '')
    for (const tool of toolset.tools.filter((t) => offered(t, toolset))) {
      const a = tool.annotations
      const traits = [a.readOnlyHint ? 'read-only' : 'changes state', a.destructiveHint ? 'destructive' : undefined, a.idempotentHint ? 'idempotent' : undefined].filter(Boolean).join(', ')
      lines.push(`### ${tool.name}: ${tool.title}`, '', `_${traits}_`, '', tool.description, '')
      const params = Object.entries(inputShape(tool))
      if (params.length > 0) {
        lines.push('| Parameter | Required | Description |', '|---|---|---|')
        for (const [name, schema] of params) {
          lines.push(`| ${name} | ${schema.isOptional() ? 'no' : 'yes'} | ${declaredDescription(schema).replaceAll('|', '\\|').replaceAll('\n', ' ')} |`)
        }
        lines.push('')
      }
    }
  }
  return lines.join('\n').trimEnd() + '\n'
}
