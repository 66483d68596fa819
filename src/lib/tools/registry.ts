import {userInfo} from 'node:os'
import type {ServerNotification, ServerRequest, ToolAnnotations} from '@modelcontextprotocol/sdk/types.js'
import type {RequestHandlerExtra} from '@modelcontextprotocol/sdk/shared/protocol.js'
import type {z} from 'zod'
import type {KubeClient, LazyKubeClient} from '../k8s/client.ts'
import type {ServerPolicy} from './policy/modes.ts'
import type {WaitState} from './wait.ts'

/**
 * The tool registry: what a tool declares. The safety policy (dry run, confirmation, refusals,
 * waits, server modes, scopes, audit) is applied from these declarations in ./policy/, once for
 * every tool; a handler only does its own work.
 */

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
  /** HTTP with OAuth: the kmcp scopes of the access token (cnpg:read, cnpg:write, cnpg:admin). Absent: no scope limit. */
  scopes?: string[]
  /** A machine client (client credentials) or a trusted workload (token exchange); named in audit lines. */
  machine?: {kind: 'machine_client' | 'workload'; name: string}
}

/** What a tool handler may use. It knows nothing of transports or of the safety policy. */
export interface ToolContext {
  /**
   * The Kubernetes client (created lazily on the first call that needs it). Its write requests pass
   * through the policy: in a dry run they carry dryRun=All, and a change that needs confirmation
   * is confirmed before the first write leaves kmcp.
   */
  kube(): Promise<KubeClient>
  /** `explicit` when given, else the server's default namespace; refuses namespaces outside --namespaces. */
  namespace(explicit?: string): Promise<string>
  identity: CallerIdentity
  signal: AbortSignal
  /** Reports progress to the client when it asked for it; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>
  /**
   * States what the call is about to change, before its first write: the registry shows it to the
   * human when confirming, in the refusal, and in the dry-run result. `destructive: false` says this
   * particular call loses nothing (e.g. scaling up), so a confirming tool does not ask.
   */
  explain(summary: string, options?: {destructive?: boolean}): void
  /** The namespaces of --namespaces, when the server has an allow-list: "all namespaces" means these. */
  allowedNamespaces?: string[]
  /** True during a dry run: writes are not stored, so there is nothing to wait for afterwards. */
  readonly dryRun: boolean
}

/** What the registry should wait for after a change, when the caller passed wait=true. */
export interface WaitRequest<T = unknown> {
  /** e.g. "Cluster payments/orders-db". */
  what: string
  collectionPath: string
  name: string
  evaluate(object: T): WaitState
  /** Seconds when the caller gives no timeout. */
  defaultTimeout: number
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
  /** The operator action to follow when the caller asked to wait (tools with `waits: true`). */
  waitFor?: WaitRequest<never>
}

type Shape = z.ZodRawShape

/** The explicit confirmation flag of a destructive tool, for clients that cannot ask the human. */
export interface ConfirmPolicy {
  /** Argument name, e.g. "confirm_deletion" (the reference's name where it has one). */
  flag: string
  /** What the flag confirms, for its description: "to delete the cluster". */
  when: string
  /** What is lost, when the handler does not explain it more precisely at run time. */
  message(args: Record<string, unknown>): string
}

export interface ToolDefinition<I extends Shape = Shape, O extends Shape = Shape, S extends Record<string, unknown> = Record<string, unknown>> {
  name: string
  title: string
  /** Written for a language model: when to use it, an example call, the errors it may give. */
  description: string
  /**
   * The tool's own parameters; the registry adds dry_run, the confirm flag, wait/timeout and format.
   * Declared as a getter (`get input() { return {...} }`), like `output`, and shared schemas with
   * once() (./lazy.ts): loading the tool modules builds no zod schema (start-up time, checked by
   * test/unit/lazy-schemas.test.ts); the registry reads each getter once per process.
   */
  input: I
  /** The structured result; mutating tools get a common envelope when they declare none. A getter too. */
  output?: O
  annotations: Required<Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>>
  /** Required for every destructiveHint tool: how it is confirmed. */
  confirm?: ConfirmPolicy
  /** The tool starts an operator action: it takes wait/timeout and returns `waitFor`. */
  waits?: boolean
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
  /** Server modes (--read-only, --namespaces, ...); absent: every tool, every namespace. */
  policy?: ServerPolicy
  /**
   * False when the server cannot send requests to the client (HTTP --stateless: the answer would
   * reach another server instance), so confirmation needs the tool's explicit flag. Default true.
   */
  clientRequests?: boolean
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

/** The Kubernetes client acting for a caller (impersonating them with --impersonate). Used by tools and resources. */
export async function kubeForCaller(env: ToolEnvironment, identity: CallerIdentity): Promise<KubeClient> {
  const client = await env.kube.get()
  return identity.kubernetes ? client.withImpersonation(identity.kubernetes.user, identity.kubernetes.groups) : client
}

export {mountToolsets} from './policy/mount.ts'
