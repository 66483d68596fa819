// A TCP forwarder on a loopback port, to take the Kubernetes API server "away" and bring it back,
// or slow it down, without touching the shared test harness.
import {createServer, connect, type Server, type Socket} from 'node:net'
import {once} from 'node:events'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import YAML from 'yaml'
import {harness} from './kube.ts'

export interface TcpProxy {
  port: number
  /** Milliseconds to hold each new connection before forwarding it. */
  delayMs: number
  /**
   * Holds every new connection (accepted, nothing forwarded) until release(); `arrived` resolves
   * when the first one comes. Lets a test act while a request is known to be waiting on the API
   * server, instead of guessing how long the request takes to get there.
   */
  hold(): {arrived: Promise<void>; release(): void}
  /** Closes the listener and every open connection: clients get "connection refused". */
  stop(): Promise<void>
  /** Listens again on the same port. */
  start(): Promise<void>
}

export async function startTcpProxy(target: {host: string; port: number}, port = 0): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  /** While set: new connections wait for it, and the first one calls onHeld. */
  let gate: {released: Promise<void>; onHeld?: () => void} | undefined
  const proxy: TcpProxy = {
    port,
    delayMs: 0,
    hold() {
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      const arrived = new Promise<void>((resolve) => (gate = {released, onHeld: resolve}))
      return {
        arrived,
        release: () => {
          gate = undefined
          release()
        },
      }
    },
    async stop() {
      for (const socket of sockets) socket.destroy()
      sockets.clear()
      if (server) {
        const closing = once(server, 'close')
        server.close()
        await closing
        server = undefined
      }
    },
    async start() {
      server = createServer((client) => {
        sockets.add(client)
        client.on('close', () => sockets.delete(client))
        client.on('error', () => client.destroy())
        client.pause()
        const held = gate?.released ?? Promise.resolve()
        gate?.onHeld?.()
        void held.then(() => setTimeout(() => {
          if (client.destroyed) return
          const upstream = connect(target.port, target.host)
          sockets.add(upstream)
          upstream.on('close', () => sockets.delete(upstream))
          upstream.on('error', () => client.destroy())
          client.on('close', () => upstream.destroy())
          upstream.on('close', () => client.destroy())
          client.pipe(upstream)
          upstream.pipe(client)
          client.resume()
        }, proxy.delayMs))
      })
      server.listen(proxy.port, '127.0.0.1')
      await once(server, 'listening')
      proxy.port = (server.address() as {port: number}).port
    },
  }
  await proxy.start()
  return proxy
}

/** A copy of the harness's admin kubeconfig whose API server address is the proxy. */
export function kubeconfigThrough(proxy: TcpProxy): string {
  const config = YAML.parse(readFileSync(harness().kubeconfigFor('admin'), 'utf8'))
  for (const cluster of config.clusters) cluster.cluster.server = `https://127.0.0.1:${proxy.port}`
  const file = join(mkdtempSync(join(tmpdir(), 'kmcp-proxy-')), 'kubeconfig')
  writeFileSync(file, YAML.stringify(config))
  return file
}
