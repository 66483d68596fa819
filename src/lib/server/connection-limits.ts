import type {Server} from 'node:http'
import type {Socket} from 'node:net'
import {BODY_DEADLINE_MS} from './body.ts'
import {log} from './logger.ts'

/** Limits of the HTTP server itself (finding 4 of issue #14). */
export interface ConnectionLimits {
  /** A request's headers must arrive within this time of the connection (or of the previous response). */
  headersTimeoutMs: number
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number
  /** Open connections at most; more are closed at once. */
  maxConnections: number
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, maxConnections: 1024}

/**
 * Sets the limits through Node's server options, and enforces them again from the server's own
 * events: the shipped binary runs on Bun, whose node:http does not apply maxConnections (nor, by
 * its documentation, requestTimeout). Bun emits 'connection' only with a connection's first
 * request, so there the cap counts connections that made a request; silent ones Bun closes
 * itself after its 10 s idle timeout. Body deadlines are kept where bodies are read (body.ts).
 * test/auth/resource-limits.test.ts checks all of it against dist/kmcp.
 */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits): void {
  server.headersTimeout = limits.headersTimeoutMs
  // The whole request (headers and body) as Node counts it; SSE responses are not affected.
  server.requestTimeout = limits.headersTimeoutMs + BODY_DEADLINE_MS
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  server.maxConnections = limits.maxConnections

  const open = new Set<Socket>()
  /** Sockets waiting for the headers of their next request, with the timer that ends them. */
  const waiting = new Map<Socket, NodeJS.Timeout>()
  let lastLog = 0
  const expectHeaders = (socket: Socket, withinMs: number) => {
    clearTimeout(waiting.get(socket))
    const timer = setTimeout(() => {
      waiting.delete(socket)
      socket.destroy()
    }, withinMs)
    timer.unref()
    waiting.set(socket, timer)
  }
  server.on('connection', (socket: Socket) => {
    if (open.size >= limits.maxConnections) {
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now()
        log.warn('connection refused: too many open connections', {max_connections: limits.maxConnections})
      }
      socket.destroy()
      return
    }
    open.add(socket)
    expectHeaders(socket, limits.headersTimeoutMs)
    socket.once('close', () => {
      open.delete(socket)
      clearTimeout(waiting.get(socket))
      waiting.delete(socket)
    })
  })
  server.on('request', (req, res) => {
    const socket = req.socket
    clearTimeout(waiting.get(socket))
    waiting.delete(socket)
    // After the answer, a kept-alive connection must send its next request in time, or go.
    res.once('finish', () => {
      if (open.has(socket) && !socket.destroyed) expectHeaders(socket, limits.keepAliveTimeoutMs + limits.headersTimeoutMs)
    })
  })
}
