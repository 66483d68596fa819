/**
 * The terminal side of the set-up commands: answers from flags or prompts, progress lines,
 * colour, and the final report (text or --json). Prompts and progress go to stderr so that
 * stdout carries only the result a script may parse.
 */
import {styleText} from 'node:util'

/** A required answer is missing and there is no terminal to ask on. Names the flag to pass. */
export class MissingAnswerError extends Error {
  readonly flag: string
  constructor(flag: string, what: string) {
    super(`${what} is required: pass ${flag} (stdin is not a terminal, so kmcp cannot ask).`)
    this.name = 'MissingAnswerError'
    this.flag = flag
  }
}

/** Bad input given on the command line (a malformed key, an invalid URL, ...). */
export class SetupInputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SetupInputError'
  }
}

/** The user chose not to go on (answered no to a confirmation). */
export class SetupCancelledError extends Error {
  constructor() {
    super('Cancelled: nothing was changed.')
    this.name = 'SetupCancelledError'
  }
}

/** Ctrl-C inside a prompt: @inquirer/prompts rejects with an error of this name. */
export function isPromptExit(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')
}

const colourEnabled = (): boolean => Boolean(process.stderr.isTTY && process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb'

function paint(format: Parameters<typeof styleText>[0], text: string): string {
  return colourEnabled() ? styleText(format, text, {validateStream: false}) : text
}

export const colour = {
  ok: (text: string) => paint('green', text),
  warn: (text: string) => paint('yellow', text),
  bad: (text: string) => paint('red', text),
  dim: (text: string) => paint('dim', text),
  bold: (text: string) => paint('bold', text),
}

export interface AskOptions {
  /** Whether prompting is allowed: stdin is a terminal and the output is not --json. */
  interactive: boolean
}

/** Interactive only when stdin is a terminal. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY)
}

const promptContext = () => ({output: process.stderr, clearPromptOnDone: false})

/**
 * The answer to one question: the flag's value when given, else a prompt on a terminal, else
 * the default, else an error naming the flag.
 */
export async function ask(options: AskOptions & {
  value: string | undefined
  flag: string
  message: string
  default?: string
  secret?: boolean
  validate?: (value: string) => string | true
}): Promise<string> {
  if (options.value !== undefined && options.value !== '') {
    const verdict = options.validate?.(options.value) ?? true
    if (verdict !== true) throw new SetupInputError(`${options.flag}: ${verdict}`)
    return options.value
  }
  if (!options.interactive) {
    if (options.default !== undefined) return options.default
    throw new MissingAnswerError(options.flag, options.message.replace(/[:?]\s*$/, ''))
  }
  const prompts = await import('@inquirer/prompts')
  const validate = (value: string) => {
    if (!value && options.default === undefined) return 'An answer is required.'
    return options.validate && value ? options.validate(value) : true
  }
  if (options.secret) {
    const answer = await prompts.password({message: options.message, mask: '*', validate}, promptContext())
    return answer || options.default || ''
  }
  return prompts.input({message: options.message, default: options.default, validate}, promptContext())
}

/** Yes/no. --yes answers yes; without a terminal and without --yes it is an error naming --yes. */
export async function confirmOrFail(options: AskOptions & {yes: boolean; message: string}): Promise<void> {
  if (options.yes) return
  if (!options.interactive) throw new MissingAnswerError('--yes', 'Confirmation')
  const prompts = await import('@inquirer/prompts')
  const answer = await prompts.confirm({message: options.message, default: true}, promptContext())
  if (!answer) throw new SetupCancelledError()
}

/** A yes/no question whose answer can also come from a boolean flag. */
export async function askYesNo(options: AskOptions & {value: boolean | undefined; message: string; default: boolean}): Promise<boolean> {
  if (options.value !== undefined) return options.value
  if (!options.interactive) return options.default
  const prompts = await import('@inquirer/prompts')
  return prompts.confirm({message: options.message, default: options.default}, promptContext())
}

/** One of several choices; the flag's value wins, without a terminal the default is used. */
export async function choose<T extends string>(options: AskOptions & {value: T | undefined; flag: string; message: string; choices: Array<{name: string; value: T}>; default?: T}): Promise<T> {
  if (options.value !== undefined) return options.value
  if (!options.interactive) {
    if (options.default !== undefined) return options.default
    throw new MissingAnswerError(options.flag, options.message.replace(/[:?]\s*$/, ''))
  }
  const prompts = await import('@inquirer/prompts')
  return prompts.select<T>({message: options.message, choices: options.choices, default: options.default}, promptContext())
}

/**
 * One line per network step on stderr: "… doing X" then "✓ X" / "✗ X". On a terminal the
 * pending line is rewritten in place with a spinner; elsewhere only the outcome is printed.
 */
export class Progress {
  private readonly quiet: boolean
  private timer?: NodeJS.Timeout
  private frame = 0

  constructor(options: {quiet?: boolean} = {}) {
    this.quiet = Boolean(options.quiet)
  }

  async step<T>(label: string, work: () => Promise<T>): Promise<T> {
    if (this.quiet) return work()
    const tty = Boolean(process.stderr.isTTY)
    if (tty) {
      const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
      const draw = () => process.stderr.write(`\r\x1b[2K${colour.dim(frames[this.frame++ % frames.length])} ${label}`)
      draw()
      this.timer = setInterval(draw, 80)
    }
    try {
      const result = await work()
      this.finish(tty, colour.ok('✓'), label)
      return result
    } catch (error) {
      this.finish(tty, colour.bad('✗'), label)
      throw error
    }
  }

  private finish(tty: boolean, mark: string, label: string): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    process.stderr.write(`${tty ? '\r\x1b[2K' : ''}${mark} ${label}\n`)
  }

  note(text: string): void {
    if (!this.quiet) process.stderr.write(`${text}\n`)
  }
}

/** What happened (or would happen, in a dry run) to one object. */
export type Outcome = 'created' | 'updated' | 'unchanged' | 'would create' | 'would update' | 'deleted' | 'skipped' | 'written'

export interface Change {
  kind: string
  name: string
  namespace?: string
  outcome: Outcome
  detail?: string
}

/** Changes made so far by one command run; on failure they are listed so nothing half-made goes unnamed. */
export class ChangeLog {
  readonly changes: Change[] = []

  add(change: Change): Change {
    this.changes.push(change)
    return change
  }

  /** True when the run stored something (created, updated, deleted or wrote a file). */
  get changedAnything(): boolean {
    return this.changes.some((c) => c.outcome === 'created' || c.outcome === 'updated' || c.outcome === 'deleted' || c.outcome === 'written')
  }

  /** Objects this run already stored, as text for a failure message. */
  madeSoFar(): string {
    const made = this.changes.filter((c) => c.outcome === 'created' || c.outcome === 'updated' || c.outcome === 'deleted' || c.outcome === 'written')
    if (made.length === 0) return 'Nothing was changed before the failure.'
    return ['Already done before the failure (kept; re-running the same command finishes the rest):', ...made.map((c) => `  ${c.outcome} ${describeTarget(c)}`)].join('\n')
  }
}

export function describeTarget(change: Pick<Change, 'kind' | 'name' | 'namespace'>): string {
  return `${change.kind} ${change.namespace ? `${change.namespace}/` : ''}${change.name}`
}

/** Text table with left-aligned columns. */
export function table(headers: string[], rows: string[][]): string {
  // eslint-disable-next-line no-control-regex
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length
  const widths = headers.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))))
  const line = (cells: string[]) => cells.map((c, i) => c + ' '.repeat(Math.max(0, widths[i] - visible(c)))).join('  ').trimEnd()
  return [line(headers.map((h) => colour.bold(h))), ...rows.map(line)].join('\n')
}

/** The changes as a table, with a closing line saying whether anything changed. */
export function renderChanges(log: ChangeLog, dryRun: boolean): string {
  const rows = log.changes.map((c) => [outcomeText(c.outcome), c.kind, c.namespace ?? '', c.name, c.detail ?? ''])
  const summary = dryRun
    ? 'Dry run: nothing was stored.'
    : log.changedAnything
      ? 'Done.'
      : 'Nothing to change: everything was already in place.'
  return `${table(['RESULT', 'KIND', 'NAMESPACE', 'NAME', 'DETAIL'], rows)}\n${summary}`
}

function outcomeText(outcome: Outcome): string {
  if (outcome === 'created' || outcome === 'updated' || outcome === 'written' || outcome === 'deleted') return colour.ok(outcome)
  if (outcome.startsWith('would')) return colour.warn(outcome)
  return colour.dim(outcome)
}
