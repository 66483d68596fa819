import type {Transport, TransportSendOptions} from '@modelcontextprotocol/sdk/shared/transport.js'
import {isJSONRPCErrorResponse, isJSONRPCNotification, isJSONRPCRequest, isJSONRPCResultResponse, type JSONRPCMessage, type MessageExtraInfo, type RequestId} from '@modelcontextprotocol/sdk/types.js'

/** Server-to-client request ids carry this prefix, the tag of the server instance that sent them, and the SDK's own id. */
const SERVER_REQUEST_PREFIX = 'kmcp:'

/** What the session layer learns from the traffic of one session. */
export interface SessionTrafficHooks {
  /** A client request arrived (it is now in flight). A promise returned holds its delivery (and the messages after it) until it settles; it must not reject. */
  requestStarted?(id: RequestId, method: string, params: unknown): Promise<void> | void
  /** The response to a client request was handed to the transport (`answered`), or the client cancelled it, or sending the response failed. */
  requestEnded?(id: RequestId, answered: boolean): void
  /** A client's answer to a server request sent by another server instance (another replica). */
  foreignResponse?(message: JSONRPCMessage, tag: string): void
}

/** The instance tag inside a server request id, or undefined when the id is not one of ours. */
export function tagOfServerRequestId(id: RequestId): string | undefined {
  if (typeof id !== 'string' || !id.startsWith(SERVER_REQUEST_PREFIX)) return undefined
  const rest = id.slice(SERVER_REQUEST_PREFIX.length)
  const cut = rest.lastIndexOf(':')
  return cut > 0 ? rest.slice(0, cut) : undefined
}

/**
 * Sits between an McpServer and its HTTP transport. It knows which client requests are in flight
 * (request seen, response not yet sent), which is how shutdown answers unfinished calls and how
 * replicas find the calls of a replica that died. It also makes the ids of server-to-client
 * requests (elicitation) unique across replicas (each server counts from 0): outgoing ids become
 * `kmcp:<tag>:<n>` and the client's answer is routed back to the instance with that tag.
 */
export class SessionTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void
  private readonly inFlight = new Map<RequestId, string>()
  private readonly inner: Transport
  private readonly tag: string
  private readonly hooks: SessionTrafficHooks
  /** Delivery held back by a requestStarted hook: later messages wait behind it, so the order stays. */
  private held?: Promise<void>

  constructor(inner: Transport, tag: string, hooks: SessionTrafficHooks = {}) {
    this.inner = inner
    this.tag = tag
    this.hooks = hooks
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version)
  }

  async start(): Promise<void> {
    this.inner.onmessage = (message, extra) => this.receive(message, extra)
    this.inner.onclose = () => this.onclose?.()
    this.inner.onerror = (error) => this.onerror?.(error)
    await this.inner.start()
  }

  async close(): Promise<void> {
    await this.inner.close()
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isJSONRPCRequest(message)) {
      await this.inner.send({...message, id: this.outgoingId(message.id)}, options)
      return
    }
    if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled' && message.params?.requestId !== undefined) {
      // The server cancels its own (server-to-client) requests: under the id the client knows.
      const params = message.params as {requestId: RequestId}
      await this.inner.send({...message, params: {...message.params, requestId: this.outgoingId(params.requestId)}}, options)
      return
    }
    if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && message.id !== undefined && this.inFlight.delete(message.id)) {
      const id = message.id
      try {
        await this.inner.send(message, options)
      } catch (error) {
        this.hooks.requestEnded?.(id, false)
        throw error
      }
      this.hooks.requestEnded?.(id, true)
      return
    }
    await this.inner.send(message, options)
  }

  /** Client requests still waiting for their response, oldest first. */
  unfinished(): RequestId[] {
    return [...this.inFlight.keys()]
  }

  /** Feeds a client's answer that reached another replica into this server instance. */
  deliverResponse(message: JSONRPCMessage): void {
    this.receive(message)
  }

  private outgoingId(id: RequestId): string {
    return `${SERVER_REQUEST_PREFIX}${this.tag}:${String(id)}`
  }

  private cancelled(id: RequestId): void {
    if (!this.inFlight.delete(id)) return
    this.hooks.requestEnded?.(id, false)
  }

  private receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    let hold: Promise<void> | void = undefined
    if (isJSONRPCRequest(message)) {
      this.inFlight.set(message.id, message.method)
      hold = this.hooks.requestStarted?.(message.id, message.method, message.params)
    }
    if (!hold && !this.held) {
      this.dispatch(message, extra)
      return
    }
    const held = Promise.all([this.held, hold]).then(() => {
      try {
        this.dispatch(message, extra)
      } catch (error) {
        this.onerror?.(error instanceof Error ? error : new Error(String(error)))
      }
    })
    this.held = held
    void held.finally(() => {
      if (this.held === held) this.held = undefined
    })
  }

  private dispatch(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      // A cancelled request gets no response: it is no longer in flight.
      const id = (message.params as {requestId?: RequestId} | undefined)?.requestId
      if (id !== undefined) this.cancelled(id)
    } else if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && message.id !== undefined) {
      const tag = tagOfServerRequestId(message.id)
      if (tag !== undefined) {
        if (tag !== this.tag) {
          this.hooks.foreignResponse?.(message, tag)
          return
        }
        const original = String(message.id).slice(SERVER_REQUEST_PREFIX.length + tag.length + 1)
        const id = /^\d+$/.test(original) ? Number(original) : original
        this.onmessage?.({...message, id}, extra)
        return
      }
    }
    this.onmessage?.(message, extra)
  }
}
