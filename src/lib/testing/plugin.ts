import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import type {CallToolResult, InitializeResult, Tool} from '@modelcontextprotocol/sdk/types.js'

/**
 * What a plugin's test sees: one MCP connection shared by the whole run, plus what it needs to
 * check the server from outside MCP (the HTTP endpoint and credentials) and to pass data to the
 * plugins that run after it.
 */
export interface TestSession {
  /** The connected MCP client. Throws when the connection was never made. */
  readonly client: Client
  readonly transport: 'stdio' | 'http'
  /** The initialize result exactly as the server sent it (undefined before the connection). */
  readonly initializeResult?: InitializeResult
  /** The MCP endpoint (HTTP transport only). */
  readonly url?: URL
  /** The bearer token for HTTP, when one was given or obtained. Never print it. */
  readonly token?: string
  /** Namespace the `cnpg` suite works in; undefined means the server's default namespace. */
  readonly namespace?: string
  /** Aborted when this plugin times out or the run is interrupted. */
  readonly signal: AbortSignal
  /** Data plugins hand to later plugins (e.g. the name of the cluster a plugin created). */
  readonly shared: Map<string, unknown>
  /** The server's tools (tools/list, fetched once per run). */
  tools(): Promise<Tool[]>
  /** Calls a tool with this plugin's signal and time limit. */
  callTool(name: string, args?: Record<string, unknown>): Promise<CallToolResult>
  /**
   * Names of objects this run created. Confirmation requests (MCP elicitation) are accepted only
   * when they mention one of them, so a test can never confirm a change to anything else.
   */
  ownObject(name: string): void
}

/** What a plugin's test returns. `durationMs` is measured by the runner when left out. */
export interface PluginOutcome {
  passed: boolean
  message: string
  /** Details of a failure (an error message, a stack, what was expected and what came back). */
  error?: string
  /** Set when the plugin decided it does not apply; `message` is the reason. */
  skipped?: boolean
  durationMs?: number
}

export interface TestPlugin {
  /** Unique across everything loaded; used by dependsOn/runAfter, --only and --skip. */
  name: string
  /** The suite it belongs to; one JUnit testsuite per group. */
  group: string
  /** The MCP tool it covers. When the server does not offer that tool, the plugin is skipped. */
  tool?: string
  description: string
  /** Hard dependencies: when one failed or was skipped, this plugin is skipped with the reason. */
  dependsOn?: string[]
  /** Soft ordering: runs after these finished, whatever their result. */
  runAfter?: string[]
  /** false for plugins that check the server without the MCP connection (e.g. HTTP auth). Default true. */
  needsConnection?: boolean
  /** Transports the plugin applies to; on any other it is skipped. Default: both. */
  transports?: Array<'stdio' | 'http'>
  /**
   * Cleanup plugins are selected whenever another plugin of their group is, so that --only never
   * leaves test objects behind, and run after every other selected plugin of their group.
   */
  cleanup?: boolean
  test(session: TestSession): Promise<PluginOutcome>
}

export type PluginStatus = 'passed' | 'failed' | 'skipped'

/** One plugin's result in a run report. */
export interface PluginResult {
  name: string
  group: string
  tool?: string
  description: string
  status: PluginStatus
  message: string
  error?: string
  durationMs: number
  startedAt: string
}

export const pass = (message: string): PluginOutcome => ({passed: true, message})
export const fail = (message: string, error?: string): PluginOutcome => ({passed: false, message, error})
export const skip = (reason: string): PluginOutcome => ({passed: false, skipped: true, message: reason})

/** Skip reason for plugins whose tool is missing from tools/list. */
export const TOOL_NOT_OFFERED = 'tool not offered by this server'
