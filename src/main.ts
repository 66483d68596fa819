import pjson from '../package.json' with {type: 'json'}
import {snapshotHelp} from './lib/cli/help-requests.ts'
import {helpSnapshot} from './lib/cli/help-snapshot.ts'
import {isVersionRequest, versionLine} from './lib/cli/version.ts'

// Entry point of the single executable (bun build --compile). `--version` and the help oclif
// would print (rendered at build time, see lib/cli/help-requests.ts) are answered without
// evaluating oclif and the commands: cli.ts is imported only for everything else, and bun's code
// splitting keeps it out of the start-up path.
const argv = process.argv.slice(2)
const help = snapshotHelp(argv, helpSnapshot, Boolean(process.stdout.isTTY), process.env)
if (isVersionRequest(argv)) process.stdout.write(`${versionLine(pjson.version)}\n`)
else if (help !== undefined) process.stdout.write(help)
else await (await import('./cli.ts')).runCli(argv)
