// Builds dist/kmcp, the single executable. Run with bun (npm run build:binary does).
// Options: --outfile PATH, --target bun-linux-x64|bun-linux-arm64|bun-darwin-arm64|…, --no-bytecode,
// --no-minify (readable names in a CPU profile: BUN_OPTIONS=--cpu-prof dist/kmcp serve)
// scripts/release.ts imports buildBinary() to cross-compile every platform.
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import pjson from '../package.json' with {type: 'json'}
import {helpKey, helpRequests, mayBeWsl} from '../src/lib/cli/help-requests.ts'
import {mapWithConcurrency} from '../src/lib/util/concurrency.ts'

declare const Bun: {
  build(options: Record<string, unknown>): Promise<{success: boolean; logs: unknown[]; outputs: Array<{path: string}>}>
}

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export interface BinaryBuild {
  /** A bun compile target such as bun-linux-x64; the current platform when absent. */
  target?: string
  outfile: string
  bytecode?: boolean
  /** false keeps names readable, for profiling; release builds minify. */
  minify?: boolean
}

/**
 * The commit the executable is built from (`kmcp --version` prints it): $KMCP_BUILD_COMMIT when
 * set (the container build has no .git), else git's HEAD, else 'unknown'.
 */
export function gitCommit(): string {
  if (process.env.KMCP_BUILD_COMMIT) return process.env.KMCP_BUILD_COMMIT
  const git = spawnSync('git', ['rev-parse', 'HEAD'], {cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
  return git.status === 0 ? git.stdout.trim() : 'unknown'
}

// The tools/list answers, computed from the sources being bundled and carried by the binary in
// place of the empty src/lib/server/tool-list-snapshot.ts (see there): start-up converts no schema.
const snapshotModule = resolve(ROOT, 'src/lib/server/tool-list-snapshot.ts')
let toolListAnswers: Record<string, unknown> | undefined
async function computeSnapshot(): Promise<Record<string, unknown>> {
  const {computeToolListAnswers} = await import('../src/lib/server/tool-list.ts')
  const {createMcpServer} = await import('../src/lib/server/mcp-server.ts')
  toolListAnswers ??= (await computeToolListAnswers(createMcpServer)) as Record<string, unknown>
  return toolListAnswers
}

// oclif's help texts, carried in place of the empty src/lib/cli/help-snapshot.ts so that
// `kmcp --help` does not load oclif: rendered by running the live CLI from the sources, under the
// bun that compiles the executable, once per request oclif answers with help (src/lib/cli/
// help-requests.ts); test/foundation/help-snapshot.test.ts renders the same way to check them.
// Only for the platform the build runs on: the root help names the platform and the runtime, so
// an executable for another platform renders its help live (and so does any on WSL, see below).
const helpSnapshotModule = resolve(ROOT, 'src/lib/cli/help-snapshot.ts')
let helpTexts: Record<string, string> | undefined

/** The bun of node_modules (the one scripts/build-binary.ts runs under and embeds). */
export const BUN = resolve(ROOT, 'node_modules/.bin/bun')

export interface CliRun {
  status: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `bun src/main.ts ...argv` from the sources (no snapshot there: oclif renders live) the way
 * the snapshot assumes help is read: stdout a pipe, an empty environment (see
 * snapshotRenderingApplies). Bun, not Node, because the root help names the runtime (`node-v…` in
 * oclif's user agent) and the executable is that bun.
 */
export function runSourcesUnderBun(argv: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return captureRun(existsSync(BUN) ? BUN : process.execPath, [resolve(ROOT, 'src/main.ts'), ...argv], env)
}

/** Runs `command` in the repository with exactly `env`, and returns its exit status and output. */
export function captureRun(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']})
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


/**
 * The help texts by helpKey(). Fails when oclif does not answer one of the requests with help
 * (exit 0, nothing on stderr): helpRequests() would then claim a form oclif does not accept.
 */
export async function renderHelpSnapshot(): Promise<Record<string, string>> {
  const requests = await kmcpHelpRequests()
  const runs = await mapWithConcurrency(requests, 4, (argv) => runSourcesUnderBun(argv))
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

// Bun maps `undici` to a built-in stub whose Agent ignores TLS options (CA, client certificates),
// which would break every TLS connection to a Kubernetes API server. Rewriting the import to the
// package's file makes Bun bundle the real undici from node_modules.
//
// The MCP SDK's server module imports its Ajv validator eagerly, for servers that bring none; kmcp
// always brings one that loads Ajv when a confirmation is first asked (src/lib/server/
// json-schema-validator.ts), so for that importer the module is replaced by a stub: about 2 MiB
// of RSS and a few ms less at every start. The client's import (kmcp test) is left alone.
const UNUSED_AJV_STUB = "export class AjvJsonSchemaValidator { constructor() { throw new Error('kmcp gives the MCP server its own jsonSchemaValidator') } }"
const sourcePlugin = {
  name: 'real-undici-and-tool-list',
  setup(build: {
    onLoad(options: {filter: RegExp; namespace?: string}, callback: (args: {path: string}) => Promise<{contents: string; loader: string}>): void
    onResolve(options: {filter: RegExp}, callback: (args: {path: string; importer: string}) => {path: string; namespace: string} | undefined): void
  }) {
    build.onResolve({filter: /ajv-provider\.js$/}, ({importer}) => (/@modelcontextprotocol\/sdk\/dist\/esm\/server\/index\.js$/.test(importer) ? {path: 'sdk-server-ajv-provider', namespace: 'kmcp-stub'} : undefined))
    build.onLoad({filter: /.*/, namespace: 'kmcp-stub'}, async () => ({contents: UNUSED_AJV_STUB, loader: 'js'}))
    build.onLoad({filter: /\.(m?js|ts)$/}, async ({path}) => {
      if (path === snapshotModule) return {contents: `export const toolListSnapshot = ${JSON.stringify(toolListAnswers)}`, loader: 'ts'}
      if (path === helpSnapshotModule) return {contents: `export const helpSnapshot = ${JSON.stringify(helpTexts)}`, loader: 'ts'}
      const text = await readFile(path, 'utf8')
      const loader = path.endsWith('.ts') ? 'ts' : 'js'
      if (!text.includes('undici')) return {contents: text, loader}
      return {contents: text.replace(/(from\s*|import\s*\(\s*|require\s*\(\s*)(['"])undici\2/g, '$1$2undici/index.js$2'), loader}
    })
  },
}

/** Compiles src/main.ts into one executable. Returns bun's log messages when the build fails. */
export async function buildBinary(options: BinaryBuild): Promise<{ok: true} | {ok: false; logs: unknown[]}> {
  const target = options.target ?? `bun-${process.platform}-${process.arch}`
  mkdirSync(dirname(options.outfile), {recursive: true})
  await computeSnapshot()
  // Not on WSL either: there oclif names the platform `wsl`, which the executable would then print
  // on every Linux (help-requests.ts: the executable renders live on WSL).
  const native = target === `bun-${process.platform}-${process.arch}` && !mayBeWsl()
  helpTexts = native ? await renderHelpSnapshot() : undefined
  const result = await Bun.build({
    // src/commands.ts is a second entry point: oclif imports it by path (explicit command
    // discovery, see src/cli-oclif.ts), from the executable's virtual file system.
    entrypoints: [resolve(ROOT, 'src/main.ts'), resolve(ROOT, 'src/commands.ts')],
    compile: {target, outfile: options.outfile},
    minify: options.minify ?? true,
    bytecode: options.bytecode ?? true,
    format: 'esm',
    splitting: true,
    sourcemap: 'none',
    // src/lib/cli/version.ts reads this identifier; `kmcp --version` prints it.
    // oclif checks the Node version against its own package.json when its module loads (semver
    // and a require that fails in the executable: ~4 ms of every start); the executable's runtime
    // is the one it was built with, so there is nothing to warn about.
    define: {KMCP_BUILD_COMMIT: JSON.stringify(gitCommit()), 'process.env.OCLIF_DISABLE_ENGINE_WARNING': JSON.stringify('1')},
    // oclif guards an optional require('typescript'); bundling it would add 17 MB and slow start-up.
    external: ['typescript', 'ts-node', 'tsx'],
    plugins: [sourcePlugin],
  })
  return result.success ? {ok: true} : {ok: false, logs: result.logs}
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const option = (name: string) => {
    const index = args.indexOf(name)
    return index >= 0 ? args[index + 1] : undefined
  }
  const outfile = resolve(ROOT, option('--outfile') ?? 'dist/kmcp')
  const target = option('--target') ?? `bun-${process.platform}-${process.arch}`
  const bytecode = !args.includes('--no-bytecode')
  const minify = !args.includes('--no-minify')
  const started = Date.now()
  const result = await buildBinary({target, outfile, bytecode, minify})
  if (!result.ok) {
    for (const entry of result.logs) console.error(entry)
    console.error('build-binary: bun build failed (messages above)')
    process.exit(1)
  }
  console.error(`build-binary: wrote ${outfile} (${target}${bytecode ? ', bytecode' : ''}) with a tools/list snapshot of ${Object.keys(toolListAnswers ?? {}).length} tool sets and ${Object.keys(helpTexts ?? {}).length} help texts, in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}
