import {mkdirSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'
import junitModule from 'junit-report-builder'
import type {Builder, TestCase} from 'junit-report-builder'
import type {PluginResult} from './plugin.ts'
import type {RunReport} from './runner.ts'

/** Facts about the run that every report carries. Never holds a token. */
export interface RunContext {
  transport: 'stdio' | 'http'
  /** The server command line (stdio) or the endpoint URL (HTTP). */
  target: string
  server?: {name?: string; version?: string; protocolVersion?: string}
}

// The package is CommonJS (`module.exports = builder`) while its types declare an ES default
// export; under Node the default import is the builder, under a bundler it may be wrapped once.
const junitBuilder = ((junitModule as unknown as {default?: Builder}).default ?? junitModule) as unknown as Builder

/** The --json document. */
export function jsonReport(report: RunReport, context: RunContext): Record<string, unknown> {
  return {
    timestamp: report.startedAt,
    transport: context.transport,
    target: context.target,
    server: context.server,
    summary: {...report.summary, duration_ms: report.durationMs},
    tests: report.results.map((result) => ({
      plugin: result.name,
      suite: result.group,
      tool: result.tool,
      status: result.status,
      message: result.message,
      error: result.error,
      duration_ms: result.durationMs,
      started_at: result.startedAt,
    })),
  }
}

/** The JUnit XML document: one testsuite per plugin group, one testcase per plugin. */
export function junitXml(report: RunReport, context: RunContext): string {
  const builder = junitBuilder.newBuilder().name('kmcp test')
  const groups = new Map<string, PluginResult[]>()
  for (const result of report.results) groups.set(result.group, [...(groups.get(result.group) ?? []), result])
  for (const [group, results] of groups) {
    const suite = builder
      .testSuite()
      .name(group)
      .timestamp(results[0].startedAt)
      .time(results.reduce((sum, result) => sum + result.durationMs, 0) / 1000)
      .property('transport', context.transport)
      .property('target', context.target)
    if (context.server?.name) suite.property('server', `${context.server.name} ${context.server.version ?? ''}`.trim())
    for (const result of results) {
      const testCase = suite
        .testCase()
        .className(['kmcp', group, result.tool].filter(Boolean).join('.'))
        .name(result.name)
        .time(result.durationMs / 1000)
      if (result.status === 'failed') {
        testCase.failure(result.message, 'failure')
        if (result.error) testCase.stacktrace(result.error)
      } else if (result.status === 'skipped') {
        testCase.skipped().standardOutput(`skipped: ${result.message}`)
        addSkippedMessage(testCase, result.message)
      } else if (result.message) {
        testCase.standardOutput(result.message)
      }
    }
  }
  return builder.build()
}

/**
 * junit-report-builder writes a bare <skipped/>; JUnit readers show the `message` attribute as
 * the reason, so it is added to the element the builder returns.
 */
function addSkippedMessage(testCase: TestCase, message: string): void {
  const build = testCase.build.bind(testCase)
  testCase.build = (parent) => {
    const element = build(parent)
    const skipped = element.children.find((child) => (child as {name?: string}).name === 'skipped') as {att(name: string, value: string): unknown} | undefined
    skipped?.att('message', message)
    return element
  }
}

export function writeJunit(file: string, report: RunReport, context: RunContext): void {
  mkdirSync(dirname(file), {recursive: true})
  writeFileSync(file, junitXml(report, context), 'utf8')
}

const MARK: Record<PluginResult['status'], string> = {passed: 'PASS', failed: 'FAIL', skipped: 'SKIP'}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

/** One plain line for a finished plugin. */
export function resultLine(result: PluginResult): string {
  return `${MARK[result.status]} ${result.group}/${result.name} (${formatDuration(result.durationMs)})${result.message ? ` ${result.message.split('\n')[0]}` : ''}`
}

/** The summary table printed at the end of a run. */
export function summaryTable(report: RunReport, width = 120): string {
  const rows = report.results.map((result) => [MARK[result.status], result.group, result.name, formatDuration(result.durationMs), result.message.split('\n')[0]])
  const header = ['RESULT', 'SUITE', 'PLUGIN', 'TIME', 'MESSAGE']
  const widths = header.slice(0, 4).map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)))
  const messageWidth = Math.max(20, width - widths.reduce((sum, w) => sum + w + 2, 0))
  const line = (cells: string[]) =>
    [...cells.slice(0, 4).map((cell, column) => cell.padEnd(widths[column])), cells[4].length > messageWidth ? `${cells[4].slice(0, messageWidth - 1)}…` : cells[4]].join('  ').trimEnd()
  const {total, passed, failed, skipped} = report.summary
  return [line(header), ...rows.map(line), '', `${total} plugins: ${passed} passed, ${failed} failed, ${skipped} skipped in ${formatDuration(report.durationMs)}`].join('\n')
}
