/** The HTTP server could not listen (port in use, address not local, no permission); the message says what to do. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ListenError'
  }
}

/** The JSON-RPC error for a request still running when the server stops (SIGTERM/SIGINT). */
export const SHUTDOWN_ERROR = {
  code: -32000,
  message: 'The server is shutting down and stopped this request before it finished; its effect is unknown. Check the current state before retrying.',
}

/** The JSON-RPC error for a request whose replica died before answering it (reported by another replica). */
export const REPLICA_STOPPED_ERROR = {
  code: -32000,
  message: 'The kmcp replica running this request stopped before it finished; the request may or may not have taken effect. Check the current state before retrying.',
}
