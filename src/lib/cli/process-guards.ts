import {log} from '../server/logger.ts'

let installed = false

/**
 * Last-resort handlers. Under Bun an uncaught exception during a pending top-level await does not
 * end the process (and an unhandled 'error' event can spin at 100% CPU), so every stray error is
 * logged and ends the process with a non-zero code instead of leaving a zombie server behind.
 */
export function installProcessGuards(): void {
  if (installed) return
  installed = true
  process.on('uncaughtException', (error) => {
    log.error('uncaught exception; exiting', {error: describeError(error)})
    process.exit(1)
  })
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled promise rejection; exiting', {error: describeError(reason)})
    process.exit(1)
  })
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`
  return String(error)
}
