import type {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import type {ServerNotification, ServerRequest} from '@modelcontextprotocol/sdk/types.js'
import type {RequestHandlerExtra} from '@modelcontextprotocol/sdk/shared/protocol.js'
import type {AnyTool, ToolEnvironment, Toolset} from '../registry.ts'
import {exclusionReason} from './modes.ts'
import {runTool} from './run.ts'
import {inputSchema, outputSchema} from './surface.ts'

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** Refuses, at start-up, a tool whose declarations contradict the policy (a programming error). */
export function checkDeclaration(tool: AnyTool): void {
  const {readOnlyHint, destructiveHint} = tool.annotations
  if (readOnlyHint && (destructiveHint || tool.confirm || tool.waits)) throw new Error(`${tool.name}: a read-only tool cannot be destructive, confirm or wait`)
  if (destructiveHint && !tool.confirm) throw new Error(`${tool.name}: a destructive tool must declare how it is confirmed (confirm)`)
  if (!destructiveHint && tool.confirm) throw new Error(`${tool.name}: only destructive tools confirm`)
}

/**
 * Mounts the tools this server and session may offer. Server modes and scopes are applied here:
 * a tool left out is simply not registered, so it is neither listed nor callable.
 */
export function mountToolsets(server: McpServer, toolsets: Toolset[], env: ToolEnvironment): void {
  for (const toolset of toolsets) {
    for (const tool of toolset.tools) {
      checkDeclaration(tool)
      if (exclusionReason(tool, toolset, env.policy, env.sessionIdentity)) continue
      const registered = server.registerTool(
        tool.name,
        {title: tool.title, description: tool.description, annotations: tool.annotations},
        // The SDK infers argument types from the schema; the registry re-types them per tool.
        ((args: Record<string, unknown>, extra: Extra) => runTool(server, env, tool, args, extra)) as never,
      )
      // The schemas are built when first read (a call of this tool, or a tools/list computed live),
      // not at start-up: the executable answers tools/list from its snapshot, and most sessions
      // call a few tools. The SDK reads them only from the registered tool, at the time of use.
      lazyProperty(registered, 'inputSchema', () => inputSchema(tool))
      lazyProperty(registered, 'outputSchema', () => outputSchema(tool))
    }
  }
}

function lazyProperty<T extends object, K extends keyof T>(target: T, key: K, make: () => unknown): void {
  let value: unknown
  let made = false
  Object.defineProperty(target, key, {
    configurable: true,
    enumerable: true,
    get: () => {
      if (!made) [value, made] = [make(), true]
      return value
    },
    set: (next: unknown) => {
      ;[value, made] = [next, true]
    },
  })
}
