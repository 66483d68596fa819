/**
 * What the three set-up commands share: their common flags, and one way of ending a run —
 * the report on stdout (text or --json), failures as one message on stderr with the exit code,
 * and, after a failure, the list of what was already changed.
 */
import {Flags, type Command} from '@oclif/core'
import {KubeConfigError} from '../k8s/errors.ts'
import {SetupKubeError} from './kube-objects.ts'
import {ChangeLog, MissingAnswerError, SetupCancelledError, SetupInputError, isPromptExit} from './ui.ts'

export const kubeFlags = {
  kubeconfig: Flags.string({summary: 'Kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config).', env: 'KMCP_KUBECONFIG'}),
  context: Flags.string({summary: 'Kubeconfig context to use.'}),
}

export const commonFlags = {
  'dry-run': Flags.boolean({default: false, summary: 'Show what would be created or changed; store nothing.'}),
  yes: Flags.boolean({char: 'y', default: false, summary: 'Do not ask for confirmation.'}),
  json: Flags.boolean({default: false, summary: 'Print the result as JSON on stdout (for scripts). Implies no progress lines.'}),
}

/** Exit codes: 1 the operation failed, 2 bad or missing input, 130 interrupted at a prompt. */
export const EXIT = {failed: 1, usage: 2, interrupted: 130} as const

export interface Failure {
  message: string
  exit: number
}

/** Maps an error of a set-up run to its message and exit code; unknown errors are rethrown. */
export function classifyFailure(error: unknown, changes: ChangeLog): Failure {
  if (isPromptExit(error)) return {message: 'Interrupted.' + (changes.changedAnything ? `\n${changes.madeSoFar()}` : ''), exit: EXIT.interrupted}
  if (error instanceof MissingAnswerError || error instanceof SetupInputError) return {message: error.message, exit: EXIT.usage}
  if (error instanceof SetupCancelledError) return {message: error.message, exit: EXIT.failed}
  if (error instanceof SetupKubeError || error instanceof KubeConfigError || error instanceof SetupFailure) {
    return {message: `${error.message}\n${changes.madeSoFar()}`, exit: EXIT.failed}
  }
  throw error
}

/** Errors from the lib that already carry a complete, user-facing message. */
export class SetupFailure extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SetupFailure'
  }
}

/** Writes the machine-readable result (--json) to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

/**
 * Ends a failed run: the message unwrapped on stderr (or a JSON report on stdout with --json)
 * and the exit code.
 */
export function exitWithFailure(command: Command, error: unknown, changes: ChangeLog, json: boolean): never {
  const failure = classifyFailure(error, changes)
  if (json) printJson({ok: false, error: failure.message, changes: changes.changes})
  else process.stderr.write(`Error: ${failure.message}\n`)
  return command.exit(failure.exit)
}
