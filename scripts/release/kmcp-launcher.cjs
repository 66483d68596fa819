#!/usr/bin/env node
// The `kmcp` command of the npm package: runs the single executable from the platform package
// npm installed beside it (@kmcp/<os>-<cpu>, one of kmcp's optionalDependencies), with the same
// arguments and the same stdin/stdout/stderr, so `npx -y kmcp serve --transport stdio` speaks MCP
// directly to the client. Plain JavaScript for any Node.js >= 18: this file is not compiled.
'use strict'
const {spawn} = require('node:child_process')
const {join} = require('node:path')

const platformPackage = `@kmcp/${process.platform}-${process.arch}`
let executable
try {
  const root = join(require.resolve(`${platformPackage}/package.json`), '..')
  executable = join(root, 'bin', process.platform === 'win32' ? 'kmcp.exe' : 'kmcp')
} catch {
  process.stderr.write(
    `kmcp: no executable for ${process.platform}-${process.arch}: the package ${platformPackage} is not installed.\n` +
      'kmcp ships executables for linux-x64, linux-arm64, darwin-x64, darwin-arm64 and win32-x64. On one of those, ' +
      'reinstall without --omit=optional / --no-optional so that npm installs the platform package.\n',
  )
  process.exit(1)
}

const child = spawn(executable, process.argv.slice(2), {stdio: 'inherit', windowsHide: true})
// The MCP client stops a stdio server with a signal: pass it on instead of dying first.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null) child.kill(signal)
  })
}
child.on('error', (error) => {
  process.stderr.write(`kmcp: cannot run ${executable}: ${error.message}\n`)
  process.exit(1)
})
child.on('exit', (code, signal) => {
  if (signal) {
    // End the same way the executable did, so the caller sees the signal.
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
  } else {
    process.exit(code ?? 1)
  }
})
