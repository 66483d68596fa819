import pjson from '../package.json' with {type: 'json'}
import {installProcessGuards} from './lib/cli/process-guards.ts'
import {isVersionRequest, versionLine} from './lib/cli/version.ts'

/**
 * Runs the kmcp CLI. oclif (cli-oclif.ts) is loaded only when needed: `kmcp --version` and a
 * plain `kmcp serve` command line (lib/cli/serve-fast-path.ts) start without it.
 */
export async function runCli(argv: string[]): Promise<void> {
  installProcessGuards()
  if (isVersionRequest(argv)) {
    process.stdout.write(`${versionLine(pjson.version)}\n`)
    return
  }
  if (argv[0] === 'serve') {
    const {serveWithoutOclif} = await import('./lib/cli/serve-fast-path.ts')
    if (await serveWithoutOclif(argv.slice(1))) return
  }
  const {runWithOclif} = await import('./cli-oclif.ts')
  await runWithOclif(argv)
}
