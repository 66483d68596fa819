import {z} from 'zod'
import {ToolError} from '../errors.ts'
import type {TruncationNote} from '../budget.ts'
import {once} from '../lazy.ts'

/**
 * CloudNativePG instance logs, parsed. The instance manager writes one JSON object per line to
 * the container's stdout: `level` (error, warning, info, debug, trace), `ts` (RFC 3339 with
 * nanoseconds, or epoch seconds in older releases), `logger` (postgres, instance-manager,
 * wal-archive, pg_ctl, …), `msg`, `logging_pod`, and for PostgreSQL's own log a `record` holding
 * the csvlog fields (error_severity, sql_state_code, message, detail, hint, …). PostgreSQL output
 * written before its logging collector starts arrives as plain text lines instead
 * ("2026-12-01 14:20:11.123 UTC [23] FATAL:  …"), which are recognised too.
 * Everything here is pure: the tool fetches the text, this turns it into entries.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'error'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export const postgresRecordSchema = once(() => z.object({
  severity: z.string().describe('PostgreSQL error_severity: LOG, WARNING, ERROR, FATAL, PANIC, …'),
  sqlstate: z.string().optional().describe('SQLSTATE error code, e.g. 22023 (invalid parameter value)'),
  message: z.string(),
  detail: z.string().optional(),
  hint: z.string().optional(),
  context: z.string().optional(),
  query: z.string().optional(),
  user: z.string().optional(),
  database: z.string().optional(),
  backend_type: z.string().optional(),
}))
export type PostgresRecord = z.infer<ReturnType<typeof postgresRecordSchema>>

export const logEntrySchema = once(() => z.object({
  time: z.string().optional().describe('When the line was written (RFC 3339)'),
  pod: z.string(),
  level: z.enum(LOG_LEVELS).describe('The stricter of the instance manager level and the PostgreSQL severity'),
  logger: z.string().optional().describe('postgres, instance-manager, wal-archive, pg_ctl, …'),
  message: z.string(),
  error: z.string().optional().describe('The error the instance manager attached to the line'),
  postgres: postgresRecordSchema().optional().describe('The PostgreSQL log record, summarised'),
}))
export type LogEntry = z.infer<ReturnType<typeof logEntrySchema>>

const LEVEL_RANK: Record<LogLevel, number> = {trace: 0, debug: 1, info: 2, warning: 3, error: 4}

export function levelRank(level: LogLevel): number {
  return LEVEL_RANK[level]
}

/** The instance manager's level names, plus the spellings other Go loggers use. */
function normaliseLevel(value: unknown): LogLevel {
  const text = String(value ?? '').toLowerCase()
  if (text === 'warn' || text === 'warning') return 'warning'
  if (text === 'error' || text === 'dpanic' || text === 'panic' || text === 'fatal') return 'error'
  if (text === 'debug') return 'debug'
  if (text === 'trace') return 'trace'
  return 'info'
}

/** The level a PostgreSQL severity stands for. CNPG logs every record at "info", whatever its severity. */
export function levelOfSeverity(severity: string): LogLevel {
  const upper = severity.toUpperCase()
  if (upper === 'ERROR' || upper === 'FATAL' || upper === 'PANIC') return 'error'
  if (upper === 'WARNING') return 'warning'
  if (upper.startsWith('DEBUG')) return 'debug'
  return 'info'
}

function stricter(a: LogLevel, b: LogLevel): LogLevel {
  return LEVEL_RANK[a] >= LEVEL_RANK[b] ? a : b
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined
}

/** RFC 3339 from the `ts` field (a string, or epoch seconds as a number). */
function timeOf(ts: unknown): string | undefined {
  if (typeof ts === 'number' && Number.isFinite(ts)) return new Date(ts * 1000).toISOString()
  if (typeof ts === 'string') {
    const parsed = Date.parse(ts)
    if (!Number.isNaN(parsed)) return new Date(parsed).toISOString()
  }
  return undefined
}

/** The csvlog fields of a CNPG `record`, or undefined when it is not a PostgreSQL error record. */
export function summarisePostgresRecord(record: Record<string, unknown>): PostgresRecord | undefined {
  const severity = text(record.error_severity)
  const message = text(record.message)
  if (!severity || message === undefined) return undefined
  const sqlstate = text(record.sql_state_code)
  return {
    severity,
    // 00000 is "successful completion": every plain LOG line carries it, it says nothing.
    sqlstate: sqlstate && sqlstate !== '00000' ? sqlstate : undefined,
    message,
    detail: text(record.detail),
    hint: text(record.hint),
    context: text(record.context),
    query: text(record.query),
    user: text(record.user_name),
    database: text(record.database_name),
    backend_type: text(record.backend_type),
  }
}

/**
 * PostgreSQL's own stderr format (log_line_prefix "%m [%p] "), before the logging collector runs.
 * Not anchored: pg_ctl's output runs into it ("waiting for server to start....2026-12-01 … LOG: …").
 */
const PLAIN_POSTGRES = /(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?(?: [A-Za-z0-9+:-]+)?) \[(\d+)\] (DEBUG[1-5]?|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|DETAIL|HINT|CONTEXT|STATEMENT):\s+(.*)$/

interface PlainPostgres {
  severity: string
  message: string
  pid: string
  time?: string
}

export function parsePlainPostgres(line: string): PlainPostgres | undefined {
  const match = PLAIN_POSTGRES.exec(line.trim())
  if (!match) return undefined
  const [, stamp, pid, severity, message] = match
  const iso = Date.parse(stamp.replace(' ', 'T').replace(/ UTC$/, 'Z'))
  return {severity, message, pid, time: Number.isNaN(iso) ? undefined : new Date(iso).toISOString()}
}

/** A kubelet timestamp prefix (pods/log with timestamps=true): "2026-12-01T14:20:11.123456789Z ". */
const KUBELET_STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) /

/** Lines whose message continues the previous PostgreSQL message of the same process. */
const CONTINUATION: Record<string, keyof PostgresRecord> = {DETAIL: 'detail', HINT: 'hint', CONTEXT: 'context', STATEMENT: 'query'}

/**
 * Parses one container's log text into entries, oldest first. Lines that are not JSON are kept
 * as plain messages (or as PostgreSQL records when they have PostgreSQL's stderr format);
 * DETAIL/HINT/CONTEXT/STATEMENT lines are attached to the message they belong to.
 */
export function parseLogText(logText: string, pod: string): LogEntry[] {
  const entries: LogEntry[] = []
  let lastPlain: {entry: LogEntry; pid: string} | undefined
  for (const rawLine of logText.split('\n')) {
    let line = rawLine.replace(/\r$/, '')
    let stamp: string | undefined
    const prefix = KUBELET_STAMP.exec(line)
    if (prefix) {
      stamp = timeOf(prefix[1])
      line = line.slice(prefix[0].length)
    }
    if (line.trim() === '') continue
    const json = parseJsonObject(line)
    const entry = json ? entryFromJson(json, pod, stamp) : undefined
    const plain = entry?.postgres ? undefined : parsePlainPostgres(entry ? entry.message : line)
    if (plain && CONTINUATION[plain.severity] && lastPlain?.pid === plain.pid && lastPlain.entry.postgres) {
      ;(lastPlain.entry.postgres as Record<string, string | undefined>)[CONTINUATION[plain.severity]] = plain.message
      continue
    }
    if (plain) {
      const base: LogEntry = entry ?? {time: stamp, pod, level: 'info', message: line}
      base.postgres = {severity: plain.severity, message: plain.message}
      base.message = plain.message
      base.level = stricter(base.level, levelOfSeverity(plain.severity))
      base.time ??= plain.time
      base.logger ??= 'postgres'
      entries.push(base)
      lastPlain = {entry: base, pid: plain.pid}
      continue
    }
    lastPlain = undefined
    entries.push(entry ?? {time: stamp, pod, level: 'info', message: line})
  }
  return entries
}

function parseJsonObject(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim()
  if (!trimmed.startsWith('{')) return undefined
  try {
    const value: unknown = JSON.parse(trimmed)
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function entryFromJson(json: Record<string, unknown>, pod: string, stamp: string | undefined): LogEntry {
  const record = json.record && typeof json.record === 'object' ? (json.record as Record<string, unknown>) : undefined
  const postgres = record ? summarisePostgresRecord(record) : undefined
  let level = normaliseLevel(json.level)
  if (postgres) level = stricter(level, levelOfSeverity(postgres.severity))
  const msg = text(json.msg) ?? ''
  // "record" is only the keyword that says the payload is in `record`.
  const message = postgres ? postgres.message : msg === 'record' && record ? JSON.stringify(record) : msg
  return {
    time: timeOf(json.ts) ?? stamp,
    // The pod the log was read from: logging_pod names job pods without their suffix.
    pod,
    level,
    logger: text(json.logger),
    message,
    error: text(json.error) ?? text(json.err),
    postgres,
  }
}

export interface LogFilter {
  minLevel?: LogLevel
  logger?: string
  contains?: string
  /** Entries older than this (ms since the epoch) are dropped; entries without a time are kept. */
  sinceMs?: number
}

export function matchesFilter(entry: LogEntry, filter: LogFilter): boolean {
  if (filter.minLevel && LEVEL_RANK[entry.level] < LEVEL_RANK[filter.minLevel]) return false
  if (filter.logger && (entry.logger ?? '').toLowerCase() !== filter.logger.toLowerCase()) return false
  if (filter.sinceMs !== undefined && entry.time && Date.parse(entry.time) < filter.sinceMs) return false
  if (filter.contains) {
    const needle = filter.contains.toLowerCase()
    const haystack = [entry.message, entry.error, entry.postgres?.detail, entry.postgres?.hint, entry.postgres?.sqlstate, entry.postgres?.context, entry.postgres?.query]
    if (!haystack.some((part) => part?.toLowerCase().includes(needle))) return false
  }
  return true
}

/** Newest first; entries of one pod without a time keep their relative order. */
export function newestFirst(entries: LogEntry[]): LogEntry[] {
  return entries
    .map((entry, index) => ({entry, index, at: entry.time ? Date.parse(entry.time) : Number.NEGATIVE_INFINITY}))
    .sort((a, b) => (b.at !== a.at ? b.at - a.at : b.index - a.index))
    .map(({entry}) => entry)
}

/** One line per entry, the way the model reads it best: when, where, how bad, what. */
export function renderLogEntry(entry: LogEntry): string {
  const where = `${entry.pod}${entry.logger ? ` ${entry.logger}` : ''}`
  const head = `${entry.time ?? '(no time)'} ${where} ${entry.level.toUpperCase()}`
  const pg = entry.postgres
  if (pg) {
    const parts = [`${pg.severity}${pg.sqlstate ? ` ${pg.sqlstate}` : ''}: ${pg.message}`]
    if (pg.detail) parts.push(`detail: ${pg.detail}`)
    if (pg.hint) parts.push(`hint: ${pg.hint}`)
    if (pg.context) parts.push(`context: ${pg.context}`)
    if (pg.user || pg.database) parts.push(`session: ${pg.user ?? '?'}@${pg.database ?? '?'}`)
    return `- ${head} ${parts.join(' | ')}`
  }
  return `- ${head} ${oneLine(entry.message)}${entry.error ? ` | error: ${oneLine(entry.error)}` : ''}`
}

/** Multi-line output (initdb, pg_controldata) on one line, at most 500 characters; the JSON keeps it whole. */
function oneLine(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, ' ⏎ ').trim()
  return flat.length > 500 ? `${flat.slice(0, 500)}…` : flat
}

/**
 * `since` as the API server's sinceSeconds: a duration such as "30s", "15m", "2h", "1d" or
 * "1h30m", or an RFC 3339 time. Returns the cut-off in ms, or a problem to report.
 */
export function parseSince(since: string, now = Date.now()): {sinceMs: number} | {problem: string} {
  const duration = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(since)
  if (duration && since !== '') {
    const [, d = '0', h = '0', m = '0', s = '0'] = duration
    const seconds = Number(d) * 86400 + Number(h) * 3600 + Number(m) * 60 + Number(s)
    if (seconds <= 0) return {problem: `since "${since}" must be longer than zero`}
    return {sinceMs: now - seconds * 1000}
  }
  const parsed = Date.parse(since)
  if (/^\d{4}-\d{2}-\d{2}T/.test(since) && !Number.isNaN(parsed)) return {sinceMs: parsed}
  return {problem: `since "${since}" is neither a duration (e.g. "30s", "15m", "2h", "1d", "1h30m") nor an RFC 3339 time (e.g. "2026-11-24T15:30:00Z")`}
}

/** The cut-off of a tool's `since` argument in ms, undefined without one; a ToolError explains a bad one. */
export function sinceCutoff(since: string | undefined): number | undefined {
  if (!since) return undefined
  const parsed = parseSince(since)
  if ('problem' in parsed) throw new ToolError(parsed.problem)
  return parsed.sinceMs
}

/**
 * The list part of a diagnosis answer (logs, events): how many matched, the shown ones newest
 * first, and what the response budget left out. `noun` is [one, many], e.g. ["entry", "entries"].
 */
export function renderNewestFirst(list: {matched: number; shown: string[]; truncated?: TruncationNote}, noun: [string, string], nothing: string): string[] {
  if (list.matched === 0) return [nothing]
  const lines = [`${list.matched} ${list.matched === 1 ? noun[0] : noun[1]}${list.shown.length < list.matched ? `, newest ${list.shown.length} shown` : ''}, newest first:`, ...list.shown]
  if (list.truncated?.omitted_items) lines.push(`[${list.truncated.omitted_items} more left out to stay within the response budget. ${list.truncated.how_to_get_the_rest}]`)
  return lines
}
