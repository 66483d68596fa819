import {readFileSync} from 'node:fs'
import {release} from 'node:os'

/**
 * Help that the single executable answers from a build-time snapshot (help-snapshot.ts) instead
 * of loading oclif, which costs 20–25 ms of every `kmcp --help` in the executable.
 *
 * Only argument lists oclif itself answers with help are snapshotted, matched exactly: the root
 * (`kmcp`, `kmcp --help`), every command (`kmcp secrets create --help`, `kmcp --help secrets create`,
 * and the same with the colon id `secrets:create`) and every topic (`kmcp secrets`,
 * `kmcp secrets --help`, `kmcp --help secrets`). kmcp's oclif has no `-h` (no additionalHelpFlags)
 * and no `help` command (no @oclif/plugin-help): both are usage errors (exit 2) that, like
 * anything else, still reach oclif.
 */

/** The argument lists oclif answers with help, for these command ids (colon-separated) and topics. */
export function helpRequests(commandIds: readonly string[], topics: readonly string[]): string[][] {
  const requests: string[][] = [[], ['--help']]
  for (const id of commandIds) {
    const forms = id.includes(':') ? [id.split(':'), [id]] : [[id]]
    for (const words of forms) requests.push([...words, '--help'], ['--help', ...words])
  }
  for (const topic of topics) requests.push([topic], [topic, '--help'], ['--help', topic])
  return requests
}

/** The snapshot's key for an argument list. */
export function helpKey(argv: readonly string[]): string {
  return JSON.stringify(argv)
}

/**
 * Whether oclif would render help exactly as the snapshot has it. The snapshot is rendered with
 * stdout not a terminal and an empty environment, where oclif wraps at 80 columns and uses no
 * colour. On a terminal oclif wraps at the window's width (a wider window re-flows every wrapped
 * description, so "at least as wide" is not enough) and makes headings bold; OCLIF_COLUMNS sets
 * the width; FORCE_COLOR turns colour on without a terminal (supports-color, which oclif's
 * `colorize` asks; ansis' own colours never reach the help text, oclif strips them); DEBUG makes
 * oclif log to stderr. In all these cases kmcp asks oclif, which is what a person at a terminal
 * sees anyway; scripts and agents, which read help through a pipe, get the snapshot.
 */
export function snapshotRenderingApplies(stdoutIsTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (stdoutIsTTY) return false
  return !['OCLIF_COLUMNS', 'FORCE_COLOR', 'DEBUG'].some((name) => name in env)
}

/**
 * Whether this may be Windows' Linux subsystem, where oclif names the platform `wsl` in its user
 * agent (the VERSION line of the root help) instead of `linux`. Errs towards yes: any kernel that
 * names Microsoft (oclif's check also excludes containers there).
 */
export function mayBeWsl(): boolean {
  if (process.platform !== 'linux') return false
  if (/microsoft/i.test(release())) return true
  try {
    return /microsoft/i.test(readFileSync('/proc/version', 'utf8'))
  } catch {
    return false
  }
}

/**
 * The snapshotted help text for this request, or undefined when oclif must answer it. `onWsl` is
 * asked last, only when the snapshot would otherwise answer (it reads /proc/version).
 */
export function snapshotHelp(argv: readonly string[], snapshot: Readonly<Record<string, string>> | undefined, stdoutIsTTY: boolean, env: NodeJS.ProcessEnv, onWsl: () => boolean = mayBeWsl): string | undefined {
  if (!snapshot || !snapshotRenderingApplies(stdoutIsTTY, env)) return undefined
  if (!Object.hasOwn(snapshot, helpKey(argv)) || onWsl()) return undefined
  return snapshot[helpKey(argv)]
}
