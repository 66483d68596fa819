import {userInfo} from 'node:os'
import type {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import type {CallToolResult, ServerNotification, ServerRequest, ToolAnnotations} from '@modelcontextprotocol/sdk/types.js'
import type {RequestHandlerExtra} from '@modelcontextprotocol/sdk/shared/protocol.js'
import type {z} from 'zod'
import type {KubeClient, LazyKubeClient} from '../k8s/client.ts'
import {KubeApiError, KubeConfigError, KubeConnectionError, describeKubeError} from '../k8s/errors.ts'
import {log} from '../server/logger.ts'
import {applyBudget} from './budget.ts'
import {ToolError} from './errors.ts'

/** Who is calling. In stdio mode the local OS user; in HTTP mode the authenticated user. */
export interface CallerIdentity {
  /** RFC 1123 user id (see docs/auth.md), or the OS user name in stdio mode. */
  userId: string
  /** Display name from the identity provider, when known. */
  username?: string
  /**
   * HTTP: the stable identity (an immutable claim with its prefix, e.g. oidc:auth0|64f1…). It is
   * what grants anything (admin, session ownership, Kubernetes user); userId only names.
   */
  subject?: string
  groups: string[]
  /** May call the admin_* tools. */
  isAdmin: boolean
  transport: 'stdio' | 'http'
  /** Set with `kmcp serve --impersonate`: Kubernetes requests are made as this user and groups. */
  kubernetes?: {user: string; groups: string[]}
  /** A machine client (client credentials) or a trusted workload (token exchange); named in audit lines. */
  machine?: {kind: 'machine_client' | 'workload'; name: string}
}

/** What a tool handler may use. It knows nothing of transports. */
export interface ToolContext {
  /** The Kubernetes client (created lazily on the first call that needs it). */
  kube(): Promise<KubeClient>
  /** `explicit` when given, else the server's default namespace. */
  namespace(explicit?: string): Promise<string>
  identity: CallerIdentity
  signal: AbortSignal
  /** Reports progress to the client when it asked for it; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>
  /**
   * Asks the human (not the model) to confirm through MCP elicitation. Returns 'unsupported'
   * when the client cannot elicit; the tool then falls back to its explicit confirm flag.
   */
  confirmWithHuman(message: string): Promise<'accepted' | 'declined' | 'unsupported'>
}

/** What a handler returns: the data, and how to show it as text. */
export interface ToolReply<S extends Record<string, unknown>> {
  structured: S
  render(structured: S): string
  /** An array field of `structured` the response budget may shorten. */
  listField?: keyof S & string
  /** How to get what the budget left out (e.g. "use limit and continue"). */
  moreHint?: string
  /** For the audit log of mutating tools: the object acted on, e.g. "ns/cluster". */
  target?: string
  dryRun?: boolean
}

type Shape = z.ZodRawShape

export interface ToolDefinition<I extends Shape = Shape, O extends Shape = Shape, S extends Record<string, unknown> = Record<string, unknown>> {
  name: string
  title: string
  /** Written for a language model: when to use it, an example call, the errors it may give. */
  description: string
  input: I
  /** Present for tools that return structured data. */
  output?: O
  annotations: Required<Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>>
  // Method syntax on purpose: it lets a Toolset hold tools with different argument types.
  handler(args: z.output<z.ZodObject<I>>, context: ToolContext): Promise<ToolReply<S>>
}

/** Declares a tool with full type inference of its arguments. */
export function defineTool<I extends Shape, O extends Shape, S extends Record<string, unknown>>(definition: ToolDefinition<I, O, S>): ToolDefinition<I, O, S> {
  return definition
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a toolset holds tools of every argument/result type
export type AnyTool = ToolDefinition<Shape, Shape, any>

/** A named list of tools that the server mounts as a whole. */
export interface Toolset {
  name: string
  description: string
  tools: AnyTool[]
  /** Mounted only for sessions opened by a caller allowed to administer (CallerIdentity.isAdmin). */
  adminOnly?: boolean
}

export interface ToolEnvironment {
  kube: LazyKubeClient
  identityFor(extra: RequestHandlerExtra<ServerRequest, ServerNotification>): CallerIdentity
  /** Who opened the session (stdio: the local user; HTTP: the user of the initialize request). */
  sessionIdentity?: CallerIdentity
}

export function localIdentity(): CallerIdentity {
  let name = 'local'
  try {
    name = userInfo().username
  } catch {
    // Containers may run as a UID without a passwd entry.
  }
  return {userId: name, username: name, groups: [], isAdmin: true, transport: 'stdio'}
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** The Kubernetes client acting for a caller (impersonating them with --impersonate). Used by tools and resources. */
export async function kubeForCaller(env: ToolEnvironment, identity: CallerIdentity): Promise<KubeClient> {
  const client = await env.kube.get()
  return identity.kubernetes ? client.withImpersonation(identity.kubernetes.user, identity.kubernetes.groups) : client
}

function makeContext(server: McpServer, env: ToolEnvironment, extra: Extra): ToolContext {
  const progressToken = extra._meta?.progressToken
  const identity = env.identityFor(extra)
  return {
    kube: () => kubeForCaller(env, identity),
    namespace: async (explicit) => explicit ?? (await env.kube.get()).defaultNamespace,
    identity,
    signal: extra.signal,
    progress: async (progress, total, message) => {
      if (progressToken === undefined) return
      await extra.sendNotification({method: 'notifications/progress', params: {progressToken, progress, total, message}})
    },
    confirmWithHuman: async (message) => {
      if (!server.server.getClientCapabilities()?.elicitation) return 'unsupported'
      try {
        const result = await server.server.elicitInput({
          message,
          requestedSchema: {type: 'object', properties: {confirm: {type: 'boolean', title: 'Proceed', description: 'Check to proceed with this change'}}, required: ['confirm']},
        })
        return result.action === 'accept' && result.content?.confirm === true ? 'accepted' : 'declined'
      } catch (error) {
        log.warn('elicitation failed; falling back to the explicit confirmation flag', {error: String(error)})
        return 'unsupported'
      }
    },
  }
}

function errorResult(message: string): CallToolResult {
  return {content: [{type: 'text', text: message}], isError: true}
}

/** Runs a tool's handler and shapes its result for MCP: format, budget, errors, audit. */
export async function runTool(definition: AnyTool, args: Record<string, unknown>, context: ToolContext): Promise<CallToolResult> {
  const mutating = !definition.annotations.readOnlyHint
  const started = performance.now()
  try {
    const reply = await definition.handler(args as never, context)
    const handled = performance.now()
    const format = args.format === 'json' ? 'json' : 'text'
    const budgeted = applyBudget({
      structured: reply.structured as Record<string, unknown>,
      render: format === 'json' ? (s) => JSON.stringify(s, null, 2) : (s) => reply.render(s),
      listField: reply.listField,
      moreHint: reply.moreHint ?? 'Ask for less: use detail_level="concise" or narrower arguments.',
    })
    if (mutating) audit(definition.name, context.identity, reply.target, reply.dryRun ?? args.dry_run === true, 'ok')
    const result: CallToolResult = {content: [{type: 'text', text: budgeted.text}]}
    if (definition.output) result.structuredContent = budgeted.structured
    log.debug('tool call', {tool: definition.name, handler_ms: +(handled - started).toFixed(1), shaping_ms: +(performance.now() - handled).toFixed(1), characters: budgeted.text.length})
    return result
  } catch (error) {
    const message = error instanceof ToolError ? error.message : describeKubeError(error, `running ${definition.name}`)
    const expected = error instanceof ToolError || error instanceof KubeApiError || error instanceof KubeConfigError || error instanceof KubeConnectionError
    if (!expected) log.warn('tool failed unexpectedly', {tool: definition.name, error: error instanceof Error ? error.message : String(error)})
    if (mutating) audit(definition.name, context.identity, undefined, args.dry_run === true, 'error')
    return errorResult(message)
  }
}

function audit(tool: string, identity: CallerIdentity, target: string | undefined, dryRun: boolean, result: 'ok' | 'error'): void {
  log.record('audit', {user: identity.userId, subject: identity.subject, ...(identity.machine ? {[identity.machine.kind]: identity.machine.name} : {}), transport: identity.transport, tool, target, dry_run: dryRun, result})
}

/** Mounts every tool of the given toolsets on an MCP server. */
export function mountToolsets(server: McpServer, toolsets: Toolset[], env: ToolEnvironment): void {
  for (const toolset of toolsets) {
    if (toolset.adminOnly && !env.sessionIdentity?.isAdmin) continue
    for (const definition of toolset.tools) {
      server.registerTool(
        definition.name,
        {
          title: definition.title,
          description: definition.description,
          inputSchema: definition.input,
          outputSchema: definition.output,
          annotations: {title: definition.title, ...definition.annotations},
        },
        // The SDK infers argument types from the schema; the registry re-types them per tool.
        ((args: Record<string, unknown>, extra: Extra) => runTool(definition, args, makeContext(server, env, extra))) as never,
      )
    }
  }
}
