import {runServe, SERVE_FLAGS} from '../server/serve-command.ts'
import {parseFlagsPlainly} from './parse-flags.ts'

/**
 * Starts `kmcp serve` without loading oclif when its command line is a plain one (parse-flags.ts):
 * an MCP client starts kmcp for every stdio session, and oclif's modules cost about a third of the
 * CPU time and 4 MiB of the memory of that start (docs/benchmarks.md). Returns false, having done
 * nothing, when oclif must read the command line (help, a mistake, anything unusual): oclif's
 * parse, help and messages stay the only ones a user sees.
 */
export async function serveWithoutOclif(argv: readonly string[]): Promise<boolean> {
  const flags = parseFlagsPlainly(argv, SERVE_FLAGS)
  if (flags === undefined) return false
  // What oclif's Command module does when it loads: a reader that closed stdout (`| head`, an MCP
  // client gone) is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
  })
  try {
    await runServe(flags, reportLikeOclif)
  } catch (error) {
    await reportLikeOclif(error instanceof Error ? error : new Error(String(error)))
  }
  return true
}

/** Prints a refusal or failure exactly as the oclif command would, and exits with its code. */
async function reportLikeOclif(problem: string | Error, exit = 1): Promise<never> {
  const {Errors, handle} = await import('@oclif/core')
  await handle(typeof problem === 'string' ? new Errors.CLIError(problem, {exit}) : problem)
  process.exit(exit) // handle() exits; this line only tells TypeScript so
}
