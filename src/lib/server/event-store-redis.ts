import type {EventStore} from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import {isJSONRPCErrorResponse, isJSONRPCResultResponse, type JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js'
import {throttledWarning} from './logger.ts'
import type {SessionBus} from './session-bus.ts'
import {parseEventId, STANDALONE_STREAM} from './session-sharing.ts'

// During an outage every event fails: one line per 10 s says enough.
const warnFailure = throttledWarning()

function noteFailure(error: unknown): void {
  // The message still goes out on the open stream; only resuming it later is impossible.
  warnFailure('event store: could not store an SSE event in redis', {error: error instanceof Error ? error.message : String(error)})
}

let lastMs = 0
let sequence = 0

/**
 * A stream entry id made here, `<ms>-<seq>`: each one above the one before in this process (the
 * clock going back does not make ids go back), hence increasing along every stream it writes.
 */
export function nextEntryId(): string {
  const now = Date.now()
  if (now > lastMs) {
    lastMs = now
    sequence = 0
  } else sequence++
  return `${lastMs}-${sequence}`
}

/**
 * An entry id made here that is also above `floor` (the last id a client holds of a stream written
 * by another replica, whose clock may run ahead of this one's).
 */
export function nextEntryIdAbove(floor: string): string {
  const made = nextEntryId()
  const [ms, seq] = made.split('-').map(Number)
  const [floorMs, floorSeq] = floor.split('-').map(Number)
  return ms > floorMs || (ms === floorMs && seq > floorSeq) ? made : `${floorMs}-${floorSeq + 1}`
}

/**
 * The event store of one session's transport. The stream of a POST (the call's progress and
 * response) is written by this replica only, so its event ids are made here and the event is sent
 * at once while its write goes on: the writes of one replica reach Redis in the order they were
 * made (one connection), before any later request of this replica; and a replica serving the
 * stream elsewhere (Last-Event-ID) listens before it reads, so an event stored in between reaches
 * it either way. The standalone stream, which every replica holding the session may write, gets
 * its ids from Redis. While a session is being rebuilt (its initialize replayed) nothing is stored:
 * those replies go nowhere.
 */
export class RedisEventStore implements EventStore {
  muted = false
  private readonly bus: SessionBus
  private readonly sessionId: string
  private lastWrite: Promise<unknown> = Promise.resolve()

  constructor(bus: SessionBus, sessionId: string) {
    this.bus = bus
    this.sessionId = sessionId
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    if (this.muted) return `${streamId}|0-0`
    if (streamId === STANDALONE_STREAM) {
      try {
        return await this.bus.append(this.sessionId, streamId, message)
      } catch (error) {
        noteFailure(error)
        return `${streamId}|0-0`
      }
    }
    const entryId = nextEntryId()
    // A POST stream's priming event (empty) opens it: nothing is before it to replay, and resuming
    // from its id (which Redis need not hold: replay reads what was stored after it) gets the rest.
    if (Object.keys(message).length === 0) return `${streamId}|${entryId}`
    // A response ends its request: the same script removes it from the requests in flight.
    const answered = isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message) ? message.id : undefined
    this.lastWrite = this.bus.append(this.sessionId, streamId, message, {entryId, answered}).catch(noteFailure)
    return `${streamId}|${entryId}`
  }

  /** Resolves once the writes started so far are done (failed ones are logged, not thrown). */
  async flushed(): Promise<void> {
    await this.lastWrite
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return parseEventId(eventId)?.streamId
  }

  async replayEventsAfter(lastEventId: string, {send}: {send: (eventId: string, message: JSONRPCMessage) => Promise<void>}): Promise<string> {
    for (const event of await this.bus.after(this.sessionId, lastEventId)) await send(event.eventId, event.message)
    return parseEventId(lastEventId)?.streamId ?? ''
  }
}
