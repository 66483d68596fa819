/**
 * Structured logging to stderr. stdout belongs to the stdio MCP transport, so nothing here may
 * ever write to it. Callers must not pass tokens, passwords or Secret data in `fields`; the
 * redaction below is a safety net for obvious key names, not a licence to log secrets.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

const LEVEL_ORDER: Record<LogLevel, number> = {debug: 10, info: 20, warn: 30, error: 40, silent: 100}
const SECRET_KEY = /(token|password|secret|authorization|cookie|key|code_verifier)/i

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
  /** One JSON line, regardless of level; used by the audit log. */
  record(kind: string, fields: Record<string, unknown>): void
}

let threshold: number = LEVEL_ORDER[(process.env.KMCP_LOG_LEVEL as LogLevel) ?? 'info'] ?? LEVEL_ORDER.info
let json = process.env.KMCP_LOG_FORMAT === 'json'

export function configureLogging(options: {level?: LogLevel; format?: 'text' | 'json'}): void {
  if (options.level) threshold = LEVEL_ORDER[options.level]
  if (options.format) json = options.format === 'json'
}

export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) {
    out[key] = SECRET_KEY.test(key) && typeof value === 'string' ? '[redacted]' : value
  }
  return out
}

function write(level: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>): void {
  if (LEVEL_ORDER[level] < threshold) return
  const safe = fields ? redact(fields) : undefined
  if (json) {
    process.stderr.write(JSON.stringify({time: new Date().toISOString(), level, msg: message, ...safe}) + '\n')
    return
  }
  const extra = safe && Object.keys(safe).length > 0 ? ' ' + JSON.stringify(safe) : ''
  process.stderr.write(`kmcp ${level}: ${message}${extra}\n`)
}

export const log: Logger = {
  debug: (message, fields) => write('debug', message, fields),
  info: (message, fields) => write('info', message, fields),
  warn: (message, fields) => write('warn', message, fields),
  error: (message, fields) => write('error', message, fields),
  record: (kind, fields) => {
    process.stderr.write(JSON.stringify({time: new Date().toISOString(), kind, ...redact(fields)}) + '\n')
  },
}

/**
 * A warning written at most once per `intervalMs` (the first at once): for conditions that repeat
 * with every request during an outage or a flood, where one line says enough.
 */
export function throttledWarning(intervalMs = 10_000): (message: string, fields?: Record<string, unknown>) => void {
  let last = -Infinity
  return (message, fields) => {
    if (Date.now() - last < intervalMs) return
    last = Date.now()
    log.warn(message, fields)
  }
}
