import {createServer, type AddressInfo, type Server, type Socket} from 'node:net'
import {PassThrough, Writable} from 'node:stream'
import type {KubeClient} from '../k8s/client.ts'
import {log} from '../server/logger.ts'
import {ServiceTargetError, checkPortForwardAllowed, portForwardForbidden, resolveServiceBackend, type ServiceRef} from './service-target.ts'

/**
 * A local port whose connections reach a pod's port through the Kubernetes API (pods/portforward,
 * client-node's PortForward over a WebSocket per connection), like `kubectl port-forward`: CI
 * reaches an in-cluster kmcp without an ingress. Listens on 127.0.0.1 only.
 */
export interface PortForwardHandle {
  /** http://127.0.0.1:<local port> */
  origin: string
  close(): Promise<void>
}

/** How long the probe connection waits for the kubelet to report that the pod's port refused it. */
const PROBE_WAIT_MS = 750

type WebSocketLike = {close(): void; on(event: 'close' | 'error', listener: (...args: unknown[]) => void): void; readyState: number}

/** The WebSocket's own error text for a refused upgrade is "Unexpected server response: 403". */
function describeOpenError(error: unknown, kube: KubeClient, namespace: string, pod: string): Error {
  const message = error instanceof Error ? error.message : String((error as {message?: string})?.message ?? error)
  if (/\b403\b/.test(message)) return portForwardForbidden(kube, namespace)
  if (/\b404\b/.test(message)) return new ServiceTargetError(`pod ${namespace}/${pod} is gone (the API server answered 404 to the port-forward); run again to pick another pod`)
  return new ServiceTargetError(`cannot open a port-forward to pod ${namespace}/${pod} through ${kube.server}: ${message}`)
}

/** Forwards 127.0.0.1:<ephemeral> to `port` of the pod. The first connection is opened (and closed) before this returns, so a refusal surfaces here with its reason. */
export async function forwardToPod(kube: KubeClient, namespace: string, pod: string, port: number): Promise<PortForwardHandle> {
  const {PortForward} = await import('@kubernetes/client-node/dist/portforward.js')
  const forwarder = new PortForward(kube.kubeConfig())
  const open = async (socket: Writable & {destroy(error?: Error): void}, input: NodeJS.ReadableStream, onPodError: (text: string) => void): Promise<WebSocketLike> => {
    // Channel 1 carries the kubelet's error text (e.g. nothing listens on the port in the pod).
    const errors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        // The first message of each channel is only the port number (stripped to nothing).
        if (chunk.length > 0) onPodError(chunk.toString('utf8'))
        done()
      },
    })
    try {
      return (await forwarder.portForward(namespace, pod, [port], socket, errors, input as never)) as unknown as WebSocketLike
    } catch (error) {
      throw describeOpenError(error, kube, namespace, pod)
    }
  }

  // Probe: one connection opened, so RBAC, a vanished pod and a port nothing listens on are
  // reported up front. The kubelet dials the pod's port at once and reports a failure on the
  // error channel within moments; silence means the port accepted.
  const sink = new Writable({write: (_chunk, _encoding, done) => done()}) as Writable & {destroy(error?: Error): void}
  let podError: string | undefined
  const probe = await open(sink, new PassThrough(), (text) => (podError ??= text.trim()))
  await new Promise((resolve) => setTimeout(resolve, PROBE_WAIT_MS))
  probe.close()
  if (podError) throw new ServiceTargetError(`pod ${namespace}/${pod} does not accept connections on port ${port}: ${podError.slice(0, 300)}`)

  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    socket.pause()
    open(socket, socket, (text) => {
      log.warn('port-forward: the pod refused the connection', {pod: `${namespace}/${pod}`, port, error: text.trim().slice(0, 300)})
      socket.destroy()
    })
      .then((ws) => {
        socket.resume()
        ws.on('close', () => socket.end())
        ws.on('error', () => socket.destroy())
        socket.on('close', () => ws.close())
      })
      .catch((error: Error) => {
        log.warn('port-forward: cannot open a connection', {pod: `${namespace}/${pod}`, error: error.message})
        socket.destroy()
      })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port: localPort} = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${localPort}`,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export interface ServiceForward extends PortForwardHandle {
  /** The MCP endpoint through the forward. */
  url: URL
  /** e.g. "service kmcp/kmcp:http (pod kmcp-abc:4204) via http://127.0.0.1:41234/mcp" */
  label: string
}

/** `--service ns/name[:port]`: resolves the pod behind the Service, checks RBAC, and forwards a local port to it. */
export async function forwardToService(kube: KubeClient, ref: ServiceRef, path: string): Promise<ServiceForward> {
  const backend = await resolveServiceBackend(kube, ref)
  await checkPortForwardAllowed(kube, ref.namespace, backend.pod)
  const handle = await forwardToPod(kube, ref.namespace, backend.pod, backend.port)
  const url = new URL(path.startsWith('/') ? path : `/${path}`, handle.origin)
  return {...handle, url, label: `${backend.label} via ${url.href}`}
}
