import type {LazyKubeClient} from '../k8s/client.ts'
import {localIdentity} from '../tools/registry.ts'
import type {ServerPolicy} from '../tools/policy/modes.ts'
import {log} from './logger.ts'
import {createMcpServer} from './mcp-server.ts'
import {LineDelimitedStdioTransport} from './stdio-transport.ts'

/**
 * Serves MCP over this process's stdin/stdout until stdin closes or `stopped` resolves (a signal).
 * Either way stdin is no longer read, calls in flight get up to `drainMs` to answer, and those
 * still running then are answered with an error and logged.
 */
export async function serveStdio(kube: LazyKubeClient, stopped: Promise<string>, drainMs: number, policy?: ServerPolicy): Promise<void> {
  const identity = localIdentity()
  const server = createMcpServer({kube, identityFor: () => identity, sessionIdentity: identity, policy})
  const transport = new LineDelimitedStdioTransport()
  const inputEnded = new Promise<string>((resolve) => {
    transport.oninputend = () => resolve('stdin closed')
    transport.onclose = () => resolve('transport closed')
  })
  try {
    await server.connect(transport)
  } catch (error) {
    log.error('could not start the stdio transport', {error: String(error)})
    return
  }
  const reason = await Promise.race([inputEnded, stopped])
  transport.stopReading()
  const interrupted = await transport.drain(drainMs)
  if (interrupted.length > 0) log.warn(`${reason}: ${interrupted.length} request(s) still running after ${drainMs} ms were stopped and answered with an error`, {requests: interrupted})
  else log.debug('stdio session ending', {reason})
  await server.close()
}
