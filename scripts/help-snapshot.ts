// Renders the help texts the single executable carries (src/lib/cli/help-snapshot.ts) by running
// the live CLI from the sources, under the bun that compiles the executable, once per request that
// oclif answers with help. scripts/build-binary.ts embeds the result; test/foundation/
// help-snapshot.test.ts renders the same way to check the executable's answers.
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import pjson from '../package.json' with {type: 'json'}
import {helpKey, helpRequests} from '../src/lib/cli/help-requests.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** The bun of node_modules (the one scripts/build-binary.ts runs under and embeds). */
export const BUN = resolve(ROOT, 'node_modules/.bin/bun')

export interface CliRun {
  status: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `bun bin/dev.js ...argv` the way the snapshot assumes help is read: stdout a pipe, an empty
 * environment (see snapshotRenderingApplies). Bun, not Node, because the root help names the
 * runtime (`node-v…` in oclif's user agent) and the executable is that bun.
 */
export function runSourcesUnderBun(argv: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(existsSync(BUN) ? BUN : process.execPath, [resolve(ROOT, 'bin/dev.js'), ...argv], {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    child.once('error', fail)
    child.once('close', (status) => done({status, stdout, stderr}))
  })
}

/** Every request oclif answers with help, for today's commands and topics. */
export async function kmcpHelpRequests(): Promise<string[][]> {
  const {COMMANDS} = await import('../src/commands.ts')
  return helpRequests(Object.keys(COMMANDS), Object.keys(pjson.oclif.topics))
}

/** Runs `work` over `items`, `limit` at a time, keeping the order of the results. */
async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index])
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return results
}

/**
 * The help texts by helpKey(). Fails when oclif does not answer one of the requests with help
 * (exit 0, nothing on stderr): helpRequests() would then claim a form oclif does not accept.
 */
export async function renderHelpSnapshot(): Promise<Record<string, string>> {
  const requests = await kmcpHelpRequests()
  const runs = await inParallel(requests, 4, (argv) => runSourcesUnderBun(argv))
  const snapshot: Record<string, string> = {}
  requests.forEach((argv, index) => {
    const run = runs[index]
    if (run.status !== 0 || run.stderr !== '' || run.stdout === '') {
      throw new Error(`kmcp ${argv.join(' ')} is not answered with help (exit ${run.status}): ${run.stderr.slice(0, 300)}`)
    }
    snapshot[helpKey(argv)] = run.stdout
  })
  return snapshot
}
