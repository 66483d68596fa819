import type {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import {LazyKubeClient} from '../k8s/client.ts'
import {localIdentity, type ToolEnvironment} from '../tools/registry.ts'
import {compactToolList} from './tool-list-compact.ts'
import {toolListSnapshot} from './tool-list-snapshot.ts'

type RequestHandler = (request: {method: string; params?: {cursor?: string}}, extra: unknown) => Promise<unknown>
interface McpServerInternals {
  _registeredTools: Record<string, unknown>
  server: {_requestHandlers: Map<string, RequestHandler>}
}

/** tools/list answers by the set of tools a session sees (admins see more). */
const liveAnswers = new Map<string, Promise<unknown>>()

/** The set of tools mounted on a server, as the key of its tools/list answer. */
function toolSetKey(server: McpServer): string {
  return Object.keys((server as unknown as McpServerInternals)._registeredTools).sort().join(',')
}

/**
 * Makes the server answer tools/list from the build-time snapshot when it has this set of tools,
 * else from the SDK's own handler (compacted, see tool-list-compact.ts), computed once per set and shared: converting every tool's zod
 * schemas to JSON Schema costs tens of milliseconds of CPU, and HTTP builds one McpServer per
 * session. `_requestHandlers` and `_registeredTools` are private to the SDK (pinned exactly in
 * package.json); test/foundation checks the answers.
 */
export function shareToolList(server: McpServer, options: {snapshot?: boolean} = {}): void {
  const handlers = (server as unknown as McpServerInternals).server._requestHandlers
  const original = handlers.get('tools/list')
  if (!original) return
  const key = toolSetKey(server)
  const built = options.snapshot === false ? undefined : toolListSnapshot?.[key]
  handlers.set('tools/list', (request, extra) => {
    if (request.params?.cursor) return original(request, extra).then(compactToolList)
    let answer = liveAnswers.get(key)
    if (!answer) {
      answer = built !== undefined ? Promise.resolve(JSON.parse(built)) : original(request, extra).then(compactToolList)
      liveAnswers.set(key, answer)
      answer.catch(() => liveAnswers.delete(key))
    }
    return answer
  })
}

/**
 * Computes the tools/list answer of every set of tools a session can see (without and with the
 * admin tools), as JSON text by key: what scripts/build-binary.ts puts into the executable.
 */
export async function computeToolListAnswers(createServer: (env: ToolEnvironment, options: {snapshot: boolean}) => McpServer): Promise<Record<string, string>> {
  const answers: Record<string, string> = {}
  for (const isAdmin of [false, true]) {
    const identity = {...localIdentity(), isAdmin}
    const server = createServer({kube: new LazyKubeClient({}), identityFor: () => identity, sessionIdentity: identity}, {snapshot: false})
    const handler = (server as unknown as McpServerInternals).server._requestHandlers.get('tools/list')
    if (!handler) throw new Error('the MCP server has no tools/list handler')
    answers[toolSetKey(server)] = JSON.stringify(await handler({method: 'tools/list', params: {}}, {}))
  }
  return answers
}
