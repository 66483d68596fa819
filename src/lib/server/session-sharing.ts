// What the session layer shares between its Redis modules and the endpoint, without loading
// ioredis: a process without Redis never imports the Redis modules themselves.

/** How often a replica says it is alive, and how long after its last word it counts as dead. */
export const HEARTBEAT_EVERY_MS = 1000
export const HEARTBEAT_TTL_MS = 3000

/** The SDK's name for the session's standalone (GET) stream; events not tied to a request go there. */
export const STANDALONE_STREAM = '_GET_stream'

/** Thrown when Redis cannot be reached: the caller answers 503 with Retry-After. */
export class SessionStoreUnavailable extends Error {
  constructor(cause: unknown) {
    super(`session storage (Redis) is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`)
    this.name = 'SessionStoreUnavailable'
  }
}

/** An event id is the stream's id and the Redis stream entry id: any replica can resume from it. */
export function parseEventId(eventId: string): {streamId: string; entryId: string} | undefined {
  const cut = eventId.lastIndexOf('|')
  if (cut <= 0 || !/^\d+-\d+$/.test(eventId.slice(cut + 1))) return undefined
  return {streamId: eventId.slice(0, cut), entryId: eventId.slice(cut + 1)}
}

