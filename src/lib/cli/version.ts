import {spawnSync} from 'node:child_process'
import {dirname} from 'node:path'
import {fileURLToPath} from 'node:url'

// Replaced by the git commit when scripts/build-binary.ts compiles the executable (bun `define`);
// an undeclared identifier when kmcp runs from the sources or from tsc's output.
declare const KMCP_BUILD_COMMIT: string | undefined

/** True for `kmcp --version` and `kmcp -v`, which print versionLine() instead of oclif's user agent. */
export function isVersionRequest(argv: readonly string[]): boolean {
  return argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')
}

/** The commit kmcp was built from: embedded in the executable, else asked from git, else 'unknown'. */
export function buildCommit(): string {
  if (typeof KMCP_BUILD_COMMIT === 'string' && KMCP_BUILD_COMMIT !== '') return KMCP_BUILD_COMMIT
  const git = spawnSync('git', ['rev-parse', 'HEAD'], {cwd: dirname(fileURLToPath(import.meta.url)), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
  const commit = git.status === 0 ? git.stdout.trim() : ''
  return /^[0-9a-f]{40}$/.test(commit) ? commit : 'unknown'
}

/** `kmcp/0.1.0 linux-x64 node-v24.9.0 commit 0123abc…`: oclif's user agent plus the commit. */
export function versionLine(version: string, commit: string = buildCommit()): string {
  return `kmcp/${version} ${process.platform}-${process.arch} node-${process.version} commit ${commit}`
}
