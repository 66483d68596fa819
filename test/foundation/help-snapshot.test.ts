// The single executable answers help from texts rendered at build time (src/lib/cli/
// help-snapshot.ts, help-requests.ts). Every answer must equal what oclif renders live from the
// sources for the same arguments (stdout a pipe, as the snapshot assumes), byte for byte, so the
// snapshot can never drift from the commands; and whatever is not a snapshotted request must
// still reach oclif unchanged (error text, exit code).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {BUN, captureRun, kmcpHelpRequests, runSourcesUnderBun, type CliRun} from '../../scripts/build-binary.ts'
import {REPO_ROOT} from '../support/mcp.ts'

const binary = join(REPO_ROOT, 'dist', 'kmcp')
const skip = !existsSync(binary) ? 'dist/kmcp is missing (npm test builds it)' : !existsSync(BUN) ? 'node_modules/.bin/bun is missing (npm ci installs it)' : false

function runBinary(argv: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return captureRun(binary, argv, env)
}

/** The executable and the sources under bun give the same exit code, stdout and stderr. */
async function assertSameAsSources(argv: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const [fromBinary, fromSources] = await Promise.all([runBinary(argv, env), runSourcesUnderBun(argv, env)])
  const label = `kmcp ${argv.join(' ')} with ${JSON.stringify(env)}`
  assert.equal(fromBinary.status, fromSources.status, `${label}: exit code`)
  assert.equal(fromBinary.stdout, fromSources.stdout, `${label}: stdout`)
  assert.equal(fromBinary.stderr, fromSources.stderr, `${label}: stderr`)
  return fromBinary
}

test('every help text of dist/kmcp equals oclif rendering it live from the sources', {skip}, async () => {
  const requests = await kmcpHelpRequests()
  assert.ok(requests.length >= 30, `root, commands and topics: ${requests.length} requests`)
  for (const argv of requests) {
    const run = await assertSameAsSources(argv)
    assert.equal(run.status, 0, `kmcp ${argv.join(' ')} is help`)
    assert.notEqual(run.stdout, '', `kmcp ${argv.join(' ')} prints help`)
  }
})

test('help through a pipe from a colourful terminal session or CI (the snapshot applies) equals the live rendering there', {skip}, async () => {
  // ansis (oclif's colour library) turns colour on without a terminal for these; oclif strips it
  // from help, which is why the snapshot may be used in such an environment.
  const colourful = {COLORTERM: 'truecolor', TERM: 'xterm-256color', CI: 'true', GITHUB_ACTIONS: 'true'}
  for (const argv of await kmcpHelpRequests()) await assertSameAsSources(argv, colourful)
})

test('help where the snapshot does not apply (another width, forced colour) is oclif live, as from the sources', {skip}, async () => {
  const environments: Array<Record<string, string>> = [{OCLIF_COLUMNS: '50'}, {OCLIF_COLUMNS: '150'}, {FORCE_COLOR: '1'}]
  for (const env of environments) {
    for (const argv of [['--help'], ['secrets', 'create', '--help'], ['serve', '--help']]) await assertSameAsSources(argv, env)
  }
  // The snapshot really is rendered at one width: a narrower one re-wraps the root help.
  const [narrow, plain] = await Promise.all([runBinary(['--help'], {OCLIF_COLUMNS: '50'}), runBinary(['--help'])])
  assert.notEqual(narrow.stdout, plain.stdout)
})

test('unknown commands, unknown flags and help forms oclif does not accept still reach oclif unchanged', {skip}, async () => {
  const cases: Array<{argv: string[]; status: number; stderr?: RegExp}> = [
    {argv: ['-h'], status: 2, stderr: /command -h not found/},
    {argv: ['help'], status: 2, stderr: /command help not found/},
    {argv: ['help', 'serve'], status: 2, stderr: /command help:serve not found/},
    {argv: ['serve', '-h'], status: 2, stderr: /Nonexistent flag: -h/},
    {argv: ['frobnicate'], status: 2, stderr: /command frobnicate not found/},
    {argv: ['frobnicate', '--help'], status: 2, stderr: /Command frobnicate not found/},
    {argv: ['serve', '--no-such-flag'], status: 2, stderr: /Nonexistent flag: --no-such-flag/},
    {argv: ['serve', '--transport', 'carrier-pigeon'], status: 2, stderr: /to be one of: stdio, http/},
    // Help, but not a form the snapshot holds: oclif answers it.
    {argv: ['serve', '--transport', 'stdio', '--help'], status: 0},
    {argv: ['secrets', '-h'], status: 0},
  ]
  for (const {argv, status, stderr} of cases) {
    const run = await assertSameAsSources(argv)
    assert.equal(run.status, status, `kmcp ${argv.join(' ')}: exit code`)
    if (stderr) assert.match(run.stderr, stderr)
  }
})
