/** The HTTP server could not listen (port in use, address not local, no permission); the message says what to do. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ListenError'
  }
}
