import {z} from 'zod'

/**
 * The explicit confirmation flag of a destructive tool: the fallback when the client cannot ask
 * the human through elicitation (and ignored when it can: the human's answer wins).
 * `when` says what it confirms, e.g. "to delete the cluster". The registry adds it to the tools that
 * declare `confirm` (see policy/surface.ts); handlers never read it.
 */
export function confirmFlag(when: string): z.ZodDefault<z.ZodBoolean> {
  return z.boolean().default(false).describe(`true ${when}, only if the user asked.`)
}
