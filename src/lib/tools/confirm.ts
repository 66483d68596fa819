import {z} from 'zod'
import type {ToolContext} from './registry.ts'

/**
 * Confirmation of destructive changes, shared by every tool that deletes or shrinks something.
 * When the client can elicit, the human is asked directly, because a model can set any flag it
 * likes; the explicit confirm_* flag is the fallback for clients without elicitation.
 */
export type ConfirmationOutcome =
  | {confirmed: true; via: 'human' | 'flag'}
  | {confirmed: false; via: 'human-declined' | 'flag-missing'}

export interface ConfirmationRequest {
  /** What will happen and what will be lost, shown to the human as-is. */
  summary: string
  /** The value of the tool's confirm_* argument. */
  flag: boolean
}

export async function confirmDestructive(context: ToolContext, request: ConfirmationRequest): Promise<ConfirmationOutcome> {
  const answer = await context.confirmWithHuman(`${request.summary}\n\nProceed?`)
  if (answer === 'accepted') return {confirmed: true, via: 'human'}
  if (answer === 'declined') return {confirmed: false, via: 'human-declined'}
  return request.flag ? {confirmed: true, via: 'flag'} : {confirmed: false, via: 'flag-missing'}
}

/**
 * The text of a refused confirmation: a heading the reference's clients match on
 * ("WARNING: DELETION NOT CONFIRMED"), what would happen, and how to proceed.
 */
export function renderNotConfirmed(options: {heading: string; outcome: Extract<ConfirmationOutcome, {confirmed: false}>; preview: string; flagName: string; retryCall: string}): string {
  const lines = [`WARNING: ${options.heading} NOT CONFIRMED. Nothing was changed.`, '', options.preview, '']
  if (options.outcome.via === 'human-declined') {
    lines.push('The human declined the confirmation request. Do not retry unless they ask for it.')
  } else {
    lines.push(`To proceed, make sure the user really wants this, then call again with ${options.flagName}=true:`, options.retryCall)
  }
  return lines.join('\n')
}

/** Structured form of a refused confirmation, for the tools' structuredContent. */
export function notConfirmedStructure(outcome: Extract<ConfirmationOutcome, {confirmed: false}>): {status: 'not_confirmed'; reason: string} {
  return {status: 'not_confirmed', reason: outcome.via === 'human-declined' ? 'the human declined the confirmation request' : 'the confirmation flag was not set'}
}

/**
 * The explicit confirmation flag of a destructive tool: the fallback when the client cannot ask
 * the human through elicitation (and ignored when it can: the human's answer wins).
 * `when` says what it confirms, e.g. "to delete the cluster".
 */
export function confirmFlag(when: string): z.ZodDefault<z.ZodBoolean> {
  return z.boolean().default(false).describe(`Must be true ${when} when the client cannot ask the human directly. Only set it when the user explicitly asked for this exact change.`)
}
