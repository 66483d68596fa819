// Shared pieces of the `kmcp test` tests: running the command as a real process, reading its
// JSON and JUnit reports, and checking the JUnit file against the JUnit XML schema with xmllint.
import {spawn, spawnSync} from 'node:child_process'
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {kmcpCommand, NODE, REPO_ROOT} from '../support/mcp.ts'

export const FIXTURES = resolve(REPO_ROOT, 'test/runner/fixtures')
export const JUNIT_XSD = resolve(FIXTURES, 'junit.xsd')
export const BINARY = resolve(REPO_ROOT, 'dist/kmcp')

/** The --server-command that starts the faulty fixture server in a mode. */
export function faultyServerCommand(mode: 'broken' | 'hang' | 'die'): string {
  return `${NODE} ${resolve(FIXTURES, 'faulty-mcp-server.ts')} ${mode}`
}

/** The --server-command that runs `kmcp serve` over stdio from the sources. */
export function kmcpServeCommand(kubeconfig: string): string {
  const command = kmcpCommand('serve', '--transport', 'stdio', '--kubeconfig', kubeconfig)
  return [command.command, ...command.args].map((word) => (/\s/.test(word) ? `'${word}'` : word)).join(' ')
}

export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `kmcp test ARGS` (from the sources, or the compiled binary) to completion. The environment
 * is minimal on purpose: nothing from the developer's shell (e.g. KUBECONFIG) leaks in.
 */
export async function runKmcpTest(args: string[], options: {binary?: string; env?: Record<string, string>; onStderr?: (text: string) => void; timeoutMs?: number} = {}): Promise<CommandResult> {
  const command = options.binary ? {command: options.binary, args: ['test', ...args]} : kmcpCommand('test', ...args)
  const child = spawn(command.command, command.args, {
    cwd: REPO_ROOT,
    // A config directory of its own: --login keeps logins there, and a run must not find another's.
    env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', KMCP_LOG_LEVEL: 'warn', KMCP_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'kmcp-config-')), ...options.env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
    options.onStderr?.(stderr)
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
  const code = await new Promise<number | null>((resolvePromise) => child.once('close', (exitCode) => resolvePromise(exitCode)))
  clearTimeout(timer)
  return {code, stdout, stderr}
}

export interface JsonTest {
  plugin: string
  suite: string
  tool?: string
  status: 'passed' | 'failed' | 'skipped'
  message: string
  error?: string
  duration_ms: number
}

export interface JsonReport {
  transport: string
  target: string
  server?: {name?: string; version?: string; protocolVersion?: string}
  summary: {total: number; passed: number; failed: number; skipped: number; duration_ms: number}
  tests: JsonTest[]
}

/** The --json report on stdout, with a helpful failure when it is not JSON. */
export function jsonReport(result: CommandResult): JsonReport {
  try {
    return JSON.parse(result.stdout) as JsonReport
  } catch {
    assert.fail(`kmcp test did not print a JSON report (exit ${result.code}).\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`)
  }
}

/** plugin name → test, for assertions. */
export function byPlugin(report: JsonReport): Map<string, JsonTest> {
  return new Map(report.tests.map((entry) => [entry.plugin, entry]))
}

/** "status message" of every test, for assertion messages. */
export function describeReport(report: JsonReport): string {
  return report.tests.map((entry) => `${entry.status} ${entry.suite}/${entry.plugin}: ${entry.message}${entry.error ? `\n    ${entry.error.split('\n').join('\n    ')}` : ''}`).join('\n')
}

/** Validates a JUnit file against test/runner/fixtures/junit.xsd with xmllint; fails with its output. */
export function assertValidJunit(file: string): void {
  const result = spawnSync('xmllint', ['--noout', '--schema', JUNIT_XSD, file], {encoding: 'utf8'})
  if (result.error) assert.fail(`xmllint is needed to check JUnit reports against the schema: apt-get install libxml2-utils (${result.error.message})`)
  assert.equal(result.status, 0, `${file} does not match the JUnit schema:\n${result.stderr}`)
}

export interface JunitCase {
  suite: string
  name: string
  classname: string
  time: number
  status: 'passed' | 'failed' | 'skipped'
  message?: string
}

const unescape = (text: string) => text.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')

/** The testcases of a JUnit file kmcp wrote (after it passed the schema check). */
export function junitCases(file: string): JunitCase[] {
  const xml = readFileSync(file, 'utf8')
  const cases: JunitCase[] = []
  for (const suite of xml.matchAll(/<testsuite name="([^"]*)"[^>]*>([\s\S]*?)<\/testsuite>/g)) {
    for (const testCase of suite[2].matchAll(/<testcase classname="([^"]*)" name="([^"]*)" time="([^"]*)"(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
      const body = testCase[4] ?? ''
      const failure = /<failure message="([^"]*)"/.exec(body)
      const skipped = /<skipped message="([^"]*)"/.exec(body)
      cases.push({
        suite: unescape(suite[1]),
        classname: unescape(testCase[1]),
        name: unescape(testCase[2]),
        time: Number(testCase[3]),
        status: failure ? 'failed' : skipped ? 'skipped' : 'passed',
        message: failure ? unescape(failure[1]) : skipped ? unescape(skipped[1]) : undefined,
      })
    }
  }
  return cases
}
