#!/usr/bin/env node
// Production launcher: runs the compiled JavaScript in dist/ (npm run build).
import {runCli} from '../dist/src/cli.js'

await runCli(process.argv.slice(2))
