import type {LazyKubeClient} from '../k8s/client.ts'
import {localIdentity} from '../tools/registry.ts'
import type {ServerPolicy} from '../tools/policy/modes.ts'
import {log} from './logger.ts'
import {createMcpServer} from './mcp-server.ts'
import {LineDelimitedStdioTransport} from './stdio-transport.ts'

/** Serves MCP over this process's stdin/stdout until stdin closes or a signal arrives. */
export async function serveStdio(kube: LazyKubeClient, policy?: ServerPolicy): Promise<void> {
  const identity = localIdentity()
  const server = createMcpServer({kube, identityFor: () => identity, sessionIdentity: identity, policy})
  const transport = new LineDelimitedStdioTransport()
  await new Promise<void>((resolve) => {
    transport.onclose = () => resolve()
    const stop = (signal: string) => {
      log.debug('stdio session ending', {signal})
      void server.close().finally(resolve)
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
    server.connect(transport).catch((error: unknown) => {
      log.error('could not start the stdio transport', {error: String(error)})
      resolve()
    })
  })
}
