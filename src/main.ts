import {runCli} from './cli.ts'

// Entry point of the single executable (bun build --compile).
await runCli(process.argv.slice(2))
