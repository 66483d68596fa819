#!/usr/bin/env node
// Development launcher: runs the TypeScript sources directly (Node >= 24 strips types natively).
import {runCli} from '../src/cli.ts'

await runCli(process.argv.slice(2))
