import {loadPluginDirectory} from './external.ts'
import {SUITES_BY_DEFAULT} from './defaults.ts'
import {checkPluginNames, selectPlugins, topologicalOrder} from './order.ts'
import type {TestPlugin} from './plugin.ts'
import {plainProgress, terminalProgress} from './progress.ts'
import {jsonReport, summaryTable, writeJunit, type RunContext} from './report.ts'
import {runPlugins, type RunReport} from './runner.ts'
import {CONNECT_PLUGIN, McpSessionHost, TOKEN_PLUGIN, connectPlugin, type ServerTarget} from './session.ts'
import {BUILT_IN_SUITES} from './suites/index.ts'
import {tokenPlugin, type TokenSource} from './tokens.ts'

export interface TestRunOptions {
  target: ServerTarget
  /** How the target is shown in reports (the command line or the URL). */
  targetLabel: string
  namespace?: string
  suites?: string[]
  only?: string[]
  skip?: string[]
  pluginDirectories?: string[]
  concurrency: number
  timeoutMs: number
  tokenSource: TokenSource
  json: boolean
  junitFile?: string
  /** Print the plugins and what they depend on instead of running them. */
  list?: boolean
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
}

/** Bad flags or plugins: nothing was run. */
export class TestUsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TestUsageError'
  }
}

export {SUITES_BY_DEFAULT}

/**
 * Every plugin of the run: the session plugins, the built-in suites and the external ones. Plugins
 * that use the MCP connection depend on the plugin that opens it.
 */
function catalog(host: McpSessionHost, options: TestRunOptions, external: TestPlugin[]): TestPlugin[] {
  const withToken = options.tokenSource.kind !== 'none' && options.target.transport === 'http'
  const session: TestPlugin[] = [connectPlugin(host, {afterToken: withToken})]
  if (withToken && options.target.transport === 'http') session.unshift(tokenPlugin(host, options.tokenSource, options.target.url))
  const suites = [...Object.values(BUILT_IN_SUITES).flat(), ...external]
  return [
    ...session,
    ...suites.map((plugin) => {
      const usesConnection = plugin.needsConnection !== false && !(plugin.dependsOn ?? []).includes(CONNECT_PLUGIN)
      return {
        ...plugin,
        dependsOn: usesConnection ? [CONNECT_PLUGIN, ...(plugin.dependsOn ?? [])] : plugin.dependsOn,
        // Plugins that check the server without the MCP connection may still use the token.
        runAfter: withToken && plugin.needsConnection === false ? [TOKEN_PLUGIN, ...(plugin.runAfter ?? [])] : plugin.runAfter,
      }
    }),
  ]
}

/** The --list table: suite, plugin, tool and description, then what the plugin waits for (~ soft). */
function listing(plugins: TestPlugin[]): string {
  const rows = plugins.map((plugin) => {
    const after = [...(plugin.dependsOn ?? []), ...(plugin.runAfter ?? []).map((name) => `~${name}`)].join(' ')
    return [plugin.group, plugin.name, plugin.tool ?? '', `${plugin.description}${after ? `  (after: ${after})` : ''}`]
  })
  const header = ['SUITE', 'PLUGIN', 'TOOL', 'DESCRIPTION']
  const widths = header.slice(0, 3).map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)))
  const line = (cells: string[]) => [...cells.slice(0, 3).map((cell, column) => cell.padEnd(widths[column])), cells[3]].join('  ').trimEnd()
  return [header, ...rows].map(line).join('\n')
}

/** Runs `kmcp test`; returns the exit code (0 only when nothing failed). */
export async function runTestCommand(options: TestRunOptions): Promise<number> {
  if (options.tokenSource.kind !== 'none' && options.target.transport !== 'http') throw new TestUsageError('tokens (--token, --token-file, --client-credentials, --login) are for --transport http')
  const external: TestPlugin[] = []
  for (const directory of options.pluginDirectories ?? []) external.push(...(await loadPluginDirectory(directory)))

  const host = new McpSessionHost(options.target, {namespace: options.namespace, requestTimeoutMs: options.timeoutMs})
  const all = catalog(host, options, external)
  checkPluginNames(all)
  const human = options.json ? options.stderr : options.stdout
  if (options.list) {
    options.stdout.write(`${listing(all)}\n`)
    return 0
  }
  const externalGroups = [...new Set(external.map((plugin) => plugin.group))]
  const suites = options.suites?.length ? options.suites : options.only?.length ? undefined : [...SUITES_BY_DEFAULT, ...(options.tokenSource.kind !== 'none' ? ['auth'] : []), ...externalGroups]
  const {plugins, excluded} = selectPlugins(all, {suites, only: options.only, skip: options.skip})
  // A given token source is always tried, also when no selected plugin needs the MCP connection.
  const token = all.find((plugin) => plugin.name === TOKEN_PLUGIN)
  if (token && !plugins.includes(token) && !excluded.has(TOKEN_PLUGIN)) plugins.unshift(token)
  topologicalOrder(plugins) // reports a cycle before anything runs

  const progress = human.isTTY ? terminalProgress(human) : plainProgress(human)
  const interrupt = new AbortController()
  const onSigint = () => interrupt.abort(new Error('interrupted (Ctrl-C)'))
  process.once('SIGINT', onSigint)
  let report: RunReport
  try {
    report = await runPlugins(plugins, host, {concurrency: options.concurrency, timeoutMs: options.timeoutMs, excluded, observer: progress, signal: interrupt.signal})
  } finally {
    progress.stop()
    process.off('SIGINT', onSigint)
    await host.close()
  }

  const initialize = host.initializeResult
  const context: RunContext = {
    transport: options.target.transport,
    target: options.targetLabel,
    server: initialize ? {name: initialize.serverInfo?.name, version: initialize.serverInfo?.version, protocolVersion: initialize.protocolVersion} : undefined,
  }
  human.write(`\n${summaryTable(report, human.columns || 120)}\n`)
  if (options.junitFile) {
    writeJunit(options.junitFile, report, context)
    human.write(`JUnit report written to ${options.junitFile}\n`)
  }
  if (options.json) options.stdout.write(`${JSON.stringify(jsonReport(report, context), null, 2)}\n`)
  return report.summary.failed > 0 ? 1 : 0
}
