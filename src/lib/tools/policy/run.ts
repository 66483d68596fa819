import type {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import type {CallToolResult, ServerNotification, ServerRequest} from '@modelcontextprotocol/sdk/types.js'
import type {RequestHandlerExtra} from '@modelcontextprotocol/sdk/shared/protocol.js'
import {KubeApiError, KubeConfigError, KubeConnectionError, describeKubeError} from '../../k8s/errors.ts'
import {log} from '../../server/logger.ts'
import {applyBudget} from '../budget.ts'
import {renderDryRun} from '../dry-run.ts'
import {ToolError} from '../errors.ts'
import {type AnyTool, type CallerIdentity, type ToolContext, type ToolEnvironment, type ToolReply, kubeForCaller} from '../registry.ts'
import {describeWait, waitForObject} from '../wait.ts'
import {PolicyRefusal, askHuman} from './confirmation.ts'
import {type RecordedWrite, type WriteGate, guardKube} from './guarded-kube.ts'
import {NamespaceRefusal, checkNamespace} from './modes.ts'
import {applyCall} from './calls.ts'

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** What the policy learns about one call while its handler runs. */
interface CallState extends WriteGate {
  plan?: {summary: string; destructive: boolean}
  confirmedBy?: 'human' | 'flag'
  refusal?: PolicyRefusal
  pendingConfirmation?: Promise<void>
}

/** Runs one tool call under the policy: namespaces, dry run, confirmation, waits, format, budget, audit. */
export async function runTool(server: McpServer, env: ToolEnvironment, tool: AnyTool, args: Record<string, unknown>, extra: Extra): Promise<CallToolResult> {
  const identity = env.identityFor(extra)
  const mutating = !tool.annotations.readOnlyHint
  const state: CallState = {dryRun: mutating && args.dry_run === true, writes: [], beforeFirstWrite: () => (state.pendingConfirmation ??= confirm(server, env, tool, args, state))}
  const context = makeContext(env, identity, extra, state)
  const started = performance.now()
  try {
    if (typeof args.namespace === 'string') checkNamespace(env.policy, args.namespace)
    const reply = await tool.handler(args as never, context)
    if (state.refusal) throw state.refusal
    const shaped = state.dryRun && state.writes.length > 0 ? dryRunReply(tool, args, state, reply) : await withWait(tool, args, context, state, reply)
    const format = args.format === 'json' ? 'json' : 'text'
    const budgeted = applyBudget({
      structured: shaped.structured,
      render: format === 'json' ? (s) => JSON.stringify(s, null, 2) : (s) => shaped.render(s),
      listField: shaped.listField,
      moreHint: shaped.moreHint ?? 'Ask for less: use detail_level="concise" or narrower arguments.',
    })
    if (mutating) audit(tool.name, identity, {target: reply.target, dry_run: state.dryRun, result: 'ok', confirmed_by: state.confirmedBy})
    log.debug('tool call', {tool: tool.name, ms: +(performance.now() - started).toFixed(1), characters: budgeted.text.length})
    return {content: [{type: 'text', text: budgeted.text}], structuredContent: budgeted.structured}
  } catch (caught) {
    const error = state.refusal ?? caught
    if (error instanceof PolicyRefusal || error instanceof NamespaceRefusal) {
      const reason = error instanceof PolicyRefusal ? error.reason : 'namespace_not_allowed'
      audit(tool.name, identity, {result: 'refused', reason, refused: error instanceof PolicyRefusal ? error.summary : `namespace ${error.namespace}`, dry_run: state.dryRun})
      const structured = {status: 'refused', reason, ...(error instanceof PolicyRefusal ? {summary: error.summary, retry_call: error.retryCall} : {})}
      // Clients validate structuredContent even on errors: only the change envelope of mutating tools has room for a refusal.
      return {content: [{type: 'text', text: error.message}], ...(mutating ? {structuredContent: structured} : {}), isError: true}
    }
    const message = error instanceof ToolError ? error.message : describeKubeError(error, `running ${tool.name}`)
    const expected = error instanceof ToolError || error instanceof KubeApiError || error instanceof KubeConfigError || error instanceof KubeConnectionError
    if (!expected) log.warn('tool failed unexpectedly', {tool: tool.name, error: error instanceof Error ? error.message : String(error)})
    if (mutating) audit(tool.name, identity, {dry_run: state.dryRun, result: 'error', changes_made: state.writes.length})
    return {content: [{type: 'text', text: message}], isError: true}
  }
}

function makeContext(env: ToolEnvironment, identity: CallerIdentity, extra: Extra, state: CallState): ToolContext {
  const progressToken = extra._meta?.progressToken
  return {
    kube: async () => guardKube(await kubeForCaller(env, identity), state),
    namespace: async (explicit) => {
      const namespace = explicit ?? (await env.kube.get()).defaultNamespace
      checkNamespace(env.policy, namespace)
      return namespace
    },
    identity,
    signal: extra.signal,
    dryRun: state.dryRun,
    allowedNamespaces: env.policy?.namespaces,
    progress: async (progress, total, message) => {
      if (progressToken === undefined) return
      await extra.sendNotification({method: 'notifications/progress', params: {progressToken, progress, total, message}})
    },
    explain: (summary, options) => {
      state.plan = {summary, destructive: options?.destructive ?? true}
    },
  }
}

/** Asks for the confirmation a destructive change needs; records and throws a refusal otherwise. */
async function confirm(server: McpServer, env: ToolEnvironment, tool: AnyTool, args: Record<string, unknown>, state: CallState): Promise<void> {
  if (!tool.confirm || state.plan?.destructive === false) return
  const summary = state.plan?.summary ?? tool.confirm.message(args)
  const answer = await askHuman(server, `${summary}\n\nProceed?`, {canAsk: env.clientRequests})
  if (answer === 'accepted') {
    state.confirmedBy = 'human'
    return
  }
  if (answer === 'unsupported' && args[tool.confirm.flag] === true) {
    state.confirmedBy = 'flag'
    return
  }
  state.refusal = new PolicyRefusal({
    tool: tool.name,
    reason: answer === 'declined' ? 'human_declined' : 'confirmation_missing',
    why: answer === 'declined' ? 'the human declined the confirmation request' : `this change is destructive and needs confirmation: the client cannot ask the human, and ${tool.confirm.flag} was not true`,
    summary,
    flag: tool.confirm.flag,
    retryCall: applyCall(tool, args, {[tool.confirm.flag]: true}),
  })
  throw state.refusal
}

/** A dry run's result: what the API server accepted, the object it would store, and the real call. */
function dryRunReply(tool: AnyTool, args: Record<string, unknown>, state: CallState, reply: ToolReply<Record<string, unknown>>): ToolReply<Record<string, unknown>> {
  const needsConfirmation = tool.confirm && state.plan?.destructive !== false
  const call = applyCall(tool, args, needsConfirmation && tool.confirm ? {[tool.confirm.flag]: true} : {})
  const object = lastObject(state.writes)
  const structured = {
    status: 'dry_run',
    target: reply.target,
    summary: state.plan?.summary,
    dry_run: {requests: state.writes.map(({method, path}) => ({method, path})), object, apply_call: call},
  }
  const notes = [...(state.plan ? ['', state.plan.summary] : []), '', 'Requests checked:', ...state.writes.map((w) => `- ${w.method} ${w.path}`)]
  const next = needsConfirmation ? `To do it (only if the user asked for exactly this; the human is asked to confirm): ${call}` : `To apply: ${call}`
  return {structured, target: reply.target, render: () => renderDryRun({heading: `${tool.title}${reply.target ? ` (${reply.target})` : ''}`, object, notes, nextStep: next})}
}

function lastObject(writes: RecordedWrite[]): Record<string, unknown> | undefined {
  for (const write of [...writes].reverse()) {
    const response = write.response as {kind?: string; metadata?: unknown} | undefined
    if (response && typeof response === 'object' && response.metadata && response.kind !== 'Status') return response.kind === 'Secret' ? redactSecret(response) : (response as Record<string, unknown>)
  }
  return undefined
}

/** A Secret in a dry-run preview shows its keys, never its values. */
function redactSecret(secret: Record<string, unknown>): Record<string, unknown> {
  const redact = (map: unknown) => (map && typeof map === 'object' ? Object.fromEntries(Object.keys(map).map((key) => [key, '(not shown)'])) : undefined)
  const {data, stringData, ...rest} = secret
  return {...rest, ...(data ? {data: redact(data)} : {}), ...(stringData ? {stringData: redact(stringData)} : {})}
}

/** Follows the operator action the handler started, when the caller asked to wait. */
async function withWait(tool: AnyTool, args: Record<string, unknown>, context: ToolContext, state: CallState, reply: ToolReply<Record<string, unknown>>): Promise<ToolReply<Record<string, unknown>>> {
  const structured: Record<string, unknown> = {...reply.structured}
  if (state.confirmedBy) structured.confirmed_by = state.confirmedBy
  if (!tool.annotations.readOnlyHint && structured.target === undefined && reply.target) structured.target = reply.target
  const confirmation = state.confirmedBy === 'human' ? ' (confirmed by the human)' : state.confirmedBy === 'flag' ? ` (confirmed with ${tool.confirm?.flag}=true)` : ''
  const render = confirmation ? (s: Record<string, unknown>) => `${reply.render(s)}\n${confirmation.trim()}` : reply.render
  if (!tool.waits || !reply.waitFor || args.wait !== true || state.dryRun) return {...reply, structured, render}
  const request = reply.waitFor
  const timeout = typeof args.timeout === 'number' ? args.timeout : request.defaultTimeout
  const result = await waitForObject<never>(await context.kube(), context, {collectionPath: request.collectionPath, name: request.name, timeoutSeconds: timeout, evaluate: request.evaluate})
  structured.wait = {outcome: result.outcome, message: result.lastMessage, elapsed_seconds: result.elapsedSeconds}
  const waitText = describeWait(result, request.what, timeout)
  return {...reply, structured, render: (s) => `${render(s)}\n${waitText}`}
}

function audit(tool: string, identity: CallerIdentity, fields: Record<string, unknown>): void {
  log.record('audit', {user: identity.userId, subject: identity.subject, ...(identity.machine ? {[identity.machine.kind]: identity.machine.name} : {}), transport: identity.transport, tool, ...fields})
}
