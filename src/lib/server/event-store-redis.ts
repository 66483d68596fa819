import type {EventStore} from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js'
import {log} from './logger.ts'
import type {SessionBus} from './session-bus.ts'
import {parseEventId} from './session-sharing.ts'

let lastFailureLog = 0

/**
 * The event store of one session's transport. While a session is being rebuilt (its initialize
 * replayed) it stores nothing: those replies go nowhere.
 */
export class RedisEventStore implements EventStore {
  muted = false
  private readonly bus: SessionBus
  private readonly sessionId: string

  constructor(bus: SessionBus, sessionId: string) {
    this.bus = bus
    this.sessionId = sessionId
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    if (this.muted) return `${streamId}|0-0`
    try {
      return await this.bus.append(this.sessionId, streamId, message)
    } catch (error) {
      // The message still goes out on the open stream; only resuming it later is impossible.
      // One line per 10 s at most: during an outage every event fails.
      if (Date.now() - lastFailureLog < 10_000) return `${streamId}|0-0`
      lastFailureLog = Date.now()
      log.warn('event store: could not store an SSE event in redis', {error: error instanceof Error ? error.message : String(error)})
      return `${streamId}|0-0`
    }
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return parseEventId(eventId)?.streamId
  }

  async replayEventsAfter(lastEventId: string, {send}: {send: (eventId: string, message: JSONRPCMessage) => Promise<void>}): Promise<string> {
    for (const event of await this.bus.after(this.sessionId, lastEventId)) await send(event.eventId, event.message)
    return parseEventId(lastEventId)?.streamId ?? ''
  }
}

