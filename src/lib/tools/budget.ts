import {z} from 'zod'
import {once} from './lazy.ts'

export const RESPONSE_BUDGET = 25_000

/** Present in a structured result when the budget shortened it. */
export const truncationSchema = once(() => z
  .object({
    omitted_items: z.number().optional(),
    shown_items: z.number().optional(),
    omitted_characters: z.number().optional(),
    how_to_get_the_rest: z.string(),
  })
  .optional()
  .describe('Present only when the response budget shortened this result'))

export interface TruncationNote {
  omitted_items?: number
  shown_items?: number
  omitted_characters?: number
  how_to_get_the_rest: string
}

export interface BudgetInput<S extends Record<string, unknown>> {
  structured: S
  render: (structured: S) => string
  /** Name of the array field in `structured` that may be shortened to fit. */
  listField?: keyof S & string
  /** What to tell the model about getting the omitted part (e.g. use limit/continue). */
  moreHint: string
}

export interface BudgetOutput<S> {
  structured: S
  text: string
}

function withNote<S extends Record<string, unknown>>(structured: S, note: TruncationNote): S {
  return {...structured, truncated: note}
}

export function applyBudget<S extends Record<string, unknown>>(input: BudgetInput<S>, budget = RESPONSE_BUDGET): BudgetOutput<S> {
  const full = input.render(input.structured)
  if (full.length <= budget) return {structured: input.structured, text: full}

  const list = input.listField ? input.structured[input.listField] : undefined
  if (Array.isArray(list) && list.length > 0) {
    // Largest prefix of the list whose rendering (including the note) fits: binary search.
    const attempt = (count: number): BudgetOutput<S> => {
      const structured = withNote({...input.structured, [input.listField as string]: list.slice(0, count)} as S, {
        omitted_items: list.length - count,
        shown_items: count,
        how_to_get_the_rest: input.moreHint,
      })
      return {structured, text: input.render(structured)}
    }
    let low = 0
    let high = list.length - 1
    let best = attempt(0)
    while (low <= high) {
      const middle = (low + high) >> 1
      const candidate = attempt(middle)
      if (candidate.text.length <= budget) {
        best = candidate
        low = middle + 1
      } else {
        high = middle - 1
      }
    }
    if (best.text.length <= budget) return best
  }

  const note = (omitted: number) =>
    `\n\n[Output truncated at ${budget} characters: ${omitted} of ${full.length} characters omitted. ${input.moreHint}]`
  let keep = budget - note(full.length).length
  const omitted = full.length - keep
  keep = budget - note(omitted).length
  const text = full.slice(0, keep) + note(full.length - keep)
  return {
    structured: withNote(input.structured, {omitted_characters: full.length - keep, how_to_get_the_rest: input.moreHint}),
    text,
  }
}
