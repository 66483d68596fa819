import type {z} from 'zod'
import type {AnyTool} from '../registry.ts'
import {inputShape} from './surface.ts'

/**
 * The exact call that makes a change for real: the caller's arguments without dry_run and without
 * the values that are the defaults anyway, plus `extra` (e.g. the confirm flag).
 */
export function applyCall(tool: AnyTool, args: Record<string, unknown>, extra: Record<string, unknown>): string {
  const shape = inputShape(tool)
  const kept: Record<string, unknown> = {}
  for (const [key, value] of Object.entries({...args, dry_run: undefined, ...extra})) {
    if (value === undefined) continue
    const schema = shape[key] as z.ZodType | undefined
    const fallback = schema?.safeParse(undefined)
    if (fallback?.success && JSON.stringify(fallback.data) === JSON.stringify(value)) continue
    kept[key] = value
  }
  return `${tool.name}(${JSON.stringify(kept)})`
}
