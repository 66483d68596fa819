import type {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import {prepareJsonSchemaValidation} from '../../server/json-schema-validator.ts'
import {log} from '../../server/logger.ts'
import {ToolError} from '../errors.ts'

/**
 * Confirmation of destructive changes. When the client can elicit, the human is asked directly,
 * because a model can set any flag it likes; the tool's explicit confirm flag is the fallback for
 * clients without elicitation.
 */
export type HumanAnswer = 'accepted' | 'declined' | 'unsupported'

/** `canAsk: false`: the transport cannot carry a request to the client (HTTP --stateless). */
export async function askHuman(server: McpServer, message: string, options: {canAsk?: boolean} = {}): Promise<HumanAnswer> {
  if (options.canAsk === false || !server.server.getClientCapabilities()?.elicitation) return 'unsupported'
  try {
    // The SDK checks the answer against requestedSchema with a validator loaded on first use.
    await prepareJsonSchemaValidation()
    const result = await server.server.elicitInput({
      message,
      requestedSchema: {type: 'object', properties: {confirm: {type: 'boolean', title: 'Proceed', description: 'Check to proceed with this change'}}, required: ['confirm']},
    })
    return result.action === 'accept' && result.content?.confirm === true ? 'accepted' : 'declined'
  } catch (error) {
    log.warn('elicitation failed; falling back to the explicit confirmation flag', {error: String(error)})
    return 'unsupported'
  }
}

/** A call the policy did not let through. The registry turns it into an isError result and an audit line. */
export class PolicyRefusal extends ToolError {
  readonly reason: 'human_declined' | 'confirmation_missing' | 'namespace_not_allowed'
  readonly summary: string
  readonly retryCall?: string
  constructor(options: {tool: string; reason: PolicyRefusal['reason']; why: string; summary: string; retryCall?: string; flag?: string}) {
    const lines = [`REFUSED: ${options.tool} did not run: ${options.why}. Nothing was changed in Kubernetes.`, '', 'What it would do:', options.summary, '']
    if (options.reason === 'human_declined') lines.push('The human declined. Do not retry unless they ask for it again.')
    else if (options.retryCall) lines.push(`Only if the user explicitly asked for exactly this change, call again with ${options.flag}=true:`, options.retryCall)
    super(lines.join('\n'))
    this.name = 'PolicyRefusal'
    this.reason = options.reason
    this.summary = options.summary
    this.retryCall = options.retryCall
  }
}
