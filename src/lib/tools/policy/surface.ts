import {z} from 'zod'
import type {AnyTool} from '../registry.ts'
import {confirmFlag} from '../confirm.ts'
import {dryRunParam, formatParam} from '../validation.ts'
import {waitParam, waitTimeoutParam} from '../wait.ts'
import {once, oncePerKey} from '../lazy.ts'

/**
 * The schemas agents see: each tool's own parameters plus the ones the policy adds uniformly
 * (dry_run on every mutating tool, its confirm flag, wait/timeout on operator actions, format on
 * every tool). Objects are strict: an unknown argument is refused with the list of parameters,
 * instead of being dropped silently.
 */

export function inputShape(tool: AnyTool): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {...(tool.input as Record<string, z.ZodType>)}
  // Checked here, where the tool's parameters are first built (its first call, the build-time
  // tools/list snapshot, every test that lists tools), not at start-up.
  for (const reserved of ['dry_run', 'wait', 'timeout', ...(tool.confirm ? [tool.confirm.flag] : [])]) {
    if (reserved in shape) throw new Error(`${tool.name}: "${reserved}" is added by the registry; do not declare it`)
  }
  if (tool.confirm) shape[tool.confirm.flag] = confirmFlag(tool.confirm.when)
  if (tool.waits) {
    shape.wait = waitParam()
    shape.timeout = waitTimeoutParam()
  }
  if (!tool.annotations.readOnlyHint) shape.dry_run = dryRunParam()
  if (!shape.format) shape.format = formatParam()
  return shape
}

/** Built once per tool (the tool's getters build new zod objects on every read), shared by every session. */
export const inputSchema = oncePerKey((tool: AnyTool): z.ZodObject => {
  const shape = inputShape(tool)
  const names = Object.keys(shape)
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown argument(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: ${tool.name} takes only ${names.join(', ')}`
        : undefined,
  })
})

const waitOutcome = once(() => z.object({
  outcome: z.enum(['done', 'timeout', 'cancelled', 'deleted', 'failed']),
  message: z.string(),
  elapsed_seconds: z.number(),
}))

const dryRunOutcome = once(() => z.object({
  requests: z.array(z.object({method: z.string(), path: z.string()})).describe('The write requests the API server accepted with dryRun=All'),
  object: z.record(z.string(), z.unknown()).optional().describe('The last object as the API server would store it'),
  apply_call: z.string().describe('The call that makes the change for real'),
}))

/** What every mutating tool's structuredContent has, whatever else it reports. */
export const changeEnvelope = once(() => ({
  status: z.string().describe('What happened: e.g. "created", "deleted", "unchanged", "dry_run"'),
  target: z.string().optional().describe('The object acted on, "namespace/name"'),
  summary: z.string().optional().describe('What the change does, as explained before it was made'),
  confirmed_by: z.enum(['human', 'flag']).optional().describe('How a destructive change was confirmed'),
  dry_run: dryRunOutcome().optional(),
  wait: waitOutcome().optional().describe('Present when wait=true: how waiting for the operator ended'),
}))

/** The output schema a tool is registered with; built once per tool, like inputSchema. */
export const outputSchema = oncePerKey((tool: AnyTool): z.ZodObject => {
  const output = tool.output
  if (tool.annotations.readOnlyHint && output) return z.object(output)
  if (tool.annotations.readOnlyHint) return z.looseObject({})
  // A mutating tool's own fields are optional: a dry run or an unchanged result omits them.
  const own = Object.fromEntries(Object.entries(output ?? {}).map(([key, schema]) => [key, (schema as z.ZodType).optional()]))
  return z.looseObject({...own, ...changeEnvelope()})
})
