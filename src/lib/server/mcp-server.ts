import {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import pjson from '../../../package.json' with {type: 'json'}
import {toolsets} from '../tools/index.ts'
import {mountToolsets, type ToolEnvironment} from '../tools/registry.ts'
import {mountPrompts} from './prompts/mount.ts'
import {promptRegistry} from './prompts/registry.ts'
import {mountResources} from './resources/index.ts'
import {clusterCompleters} from './resources/completion.ts'

const INSTRUCTIONS = [
  'kmcp manages PostgreSQL clusters run by the CloudNativePG (CNPG) operator on Kubernetes.',
  'Start with list_postgres_clusters to find clusters, then get_cluster_status for details.',
  'Change tools accept dry_run=true to preview a change validated by the API server without storing it.',
  'Destructive tools ask the human for confirmation (or need an explicit confirm flag): never set a confirm flag unless the user asked for that exact change. A refused call is an error starting with REFUSED that says what was not done.',
  'PostgreSQL roles and databases are managed through the *_postgres_role(s) and *_postgres_database(s) tools; passwords stay in Secrets (get_connection_info shows how to read them).',
  'Prompts (prompts/list) hold step-by-step plans for diagnosis, storage shrink, restore and onboarding; resources cnpg://{namespace}/clusters/{name} give live cluster status.',
].join(' ')

/**
 * One MCP server instance with every toolset mounted. Cheap to create: the Kubernetes client
 * behind `env.kube` is shared and made on first use.
 */
export function createMcpServer(env: ToolEnvironment): McpServer {
  const server = new McpServer(
    {name: 'kmcp', title: 'kmcp: CloudNativePG for AI agents', version: pjson.version},
    {capabilities: {tools: {listChanged: false}, logging: {}}, instructions: INSTRUCTIONS},
  )
  mountToolsets(server, toolsets, env)
  mountPrompts(server, promptRegistry(), clusterCompleters(env))
  mountResources(server, env, toolsets)
  shareToolList(server)
  return server
}

type RequestHandler = (request: {params?: {cursor?: string}}, extra: unknown) => Promise<unknown>

/** tools/list answers by the set of tools a session sees (admins see more). */
const toolListAnswers = new Map<string, Promise<unknown>>()

/**
 * Converting every tool's zod schemas to JSON Schema costs about 20 ms of CPU per tools/list, and
 * an HTTP server builds one McpServer per session; the answer only depends on which tools are
 * mounted, so it is computed once per set and shared. `_requestHandlers` and `_registeredTools` are
 * private to the SDK (pinned exactly in package.json); test/foundation checks the answer.
 */
function shareToolList(server: McpServer): void {
  const internals = server as unknown as {_registeredTools: Record<string, unknown>; server: {_requestHandlers: Map<string, RequestHandler>}}
  const handlers = internals.server._requestHandlers
  const original = handlers.get('tools/list')
  if (!original) return
  const key = Object.keys(internals._registeredTools).sort().join(',')
  handlers.set('tools/list', (request, extra) => {
    if (request.params?.cursor) return original(request, extra)
    let answer = toolListAnswers.get(key)
    if (!answer) {
      answer = original(request, extra)
      toolListAnswers.set(key, answer)
      answer.catch(() => toolListAnswers.delete(key))
    }
    return answer
  })
}
