import {predecessors, topologicalOrder} from './order.ts'
import {TOOL_NOT_OFFERED, type PluginOutcome, type PluginResult, type TestPlugin, type TestSession} from './plugin.ts'

/** What the runner needs from the connection to the server under test. */
export interface SessionHost {
  transport: 'stdio' | 'http'
  /** The session a plugin's test gets, bound to that plugin's abort signal. */
  forPlugin(signal: AbortSignal): TestSession
  /** Why the MCP connection cannot be used (never opened, closed, server exited); undefined when it is fine. */
  connectionProblem(): string | undefined
  /** Names of the tools the server offers (tools/list). */
  offeredToolNames(signal: AbortSignal): Promise<Set<string>>
}

/** Receives the run's progress, for live displays. */
export interface RunObserver {
  planned?(plugins: TestPlugin[]): void
  started?(plugin: TestPlugin): void
  finished?(result: PluginResult): void
}

export interface RunOptions {
  /** How many plugins may run at the same time (independent ones only). */
  concurrency: number
  /** Per-plugin time limit. */
  timeoutMs: number
  /** Plugins left out with --skip: their dependents are skipped with this reason. */
  excluded?: Map<string, string>
  observer?: RunObserver
  /** Aborting it (Ctrl-C) fails the running plugins and skips the rest. */
  signal?: AbortSignal
}

export interface RunReport {
  startedAt: string
  durationMs: number
  results: PluginResult[]
  summary: {total: number; passed: number; failed: number; skipped: number}
}

/**
 * Runs plugins in dependency order, independent ones concurrently up to the limit. Every plugin
 * ends up with exactly one result: a throwing or hanging plugin fails, a plugin whose hard
 * dependency did not pass is skipped with the reason, and the run always finishes.
 */
export async function runPlugins(plugins: TestPlugin[], host: SessionHost, options: RunOptions): Promise<RunReport> {
  const started = Date.now()
  const ordered = topologicalOrder(plugins)
  options.observer?.planned?.(ordered)
  const selectedNames = new Set(ordered.map((plugin) => plugin.name))
  const results = new Map<string, PluginResult>()
  const running = new Map<string, Promise<void>>()
  const loss: LossState = {reported: false}
  const pending = [...ordered]
  const concurrency = Math.max(1, Math.floor(options.concurrency))

  const canStart = (plugin: TestPlugin) => predecessors(plugin).every((name) => !selectedNames.has(name) || results.has(name))

  while (pending.length > 0 || running.size > 0) {
    for (let index = 0; index < pending.length && running.size < concurrency; ) {
      const plugin = pending[index]
      if (!canStart(plugin)) {
        index++
        continue
      }
      pending.splice(index, 1)
      options.observer?.started?.(plugin)
      const done = runOne(plugin, host, options, results, loss).then((result) => {
        results.set(plugin.name, result)
        running.delete(plugin.name)
        options.observer?.finished?.(result)
      })
      running.set(plugin.name, done)
    }
    if (running.size === 0 && pending.length > 0) {
      // Cannot happen after topologicalOrder; guards against an endless loop all the same.
      throw new Error(`kmcp test: plugins ${pending.map((plugin) => plugin.name).join(', ')} can never start`)
    }
    if (running.size > 0) await Promise.race(running.values())
  }

  const list = ordered.map((plugin) => results.get(plugin.name)!)
  return {
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    results: list,
    summary: {
      total: list.length,
      passed: list.filter((result) => result.status === 'passed').length,
      failed: list.filter((result) => result.status === 'failed').length,
      skipped: list.filter((result) => result.status === 'skipped').length,
    },
  }
}

/** Whether a result already tells that the MCP connection was lost mid-run. */
interface LossState {
  reported: boolean
}

/** Why a plugin must not run, or undefined when it may. */
function reasonNotToRun(plugin: TestPlugin, host: SessionHost, options: RunOptions, results: Map<string, PluginResult>): {reason: string; connectionLost?: boolean} | undefined {
  if (options.signal?.aborted) return {reason: 'the run was interrupted'}
  for (const name of plugin.dependsOn ?? []) {
    const excluded = options.excluded?.get(name)
    if (excluded) return {reason: excluded}
    const dependency = results.get(name)
    if (!dependency || dependency.status === 'passed') continue
    return {reason: `depends on "${name}", which ${dependency.status === 'failed' ? 'failed' : 'was skipped'}: ${dependency.message}`}
  }
  if (plugin.transports && !plugin.transports.includes(host.transport)) return {reason: `only applies to the ${plugin.transports.join('/')} transport`}
  if (plugin.needsConnection !== false) {
    const problem = host.connectionProblem()
    if (problem) return {reason: `no MCP connection: ${problem}`, connectionLost: true}
  }
  return undefined
}

async function runOne(plugin: TestPlugin, host: SessionHost, options: RunOptions, results: Map<string, PluginResult>, loss: LossState): Promise<PluginResult> {
  const startedAt = new Date()
  const base = {name: plugin.name, group: plugin.group, tool: plugin.tool, description: plugin.description, startedAt: startedAt.toISOString()}
  const notRun = reasonNotToRun(plugin, host, options, results)
  if (notRun) {
    // A server that went away fails the run: the first plugin that cannot run because of it fails,
    // unless a failure already told; the others are skipped with the same reason.
    if (notRun.connectionLost && !loss.reported) {
      loss.reported = true
      return {...base, status: 'failed', message: notRun.reason, durationMs: 0}
    }
    return {...base, status: 'skipped', message: notRun.reason, durationMs: 0}
  }

  const controller = new AbortController()
  const onOuterAbort = () => controller.abort(new Error('the run was interrupted'))
  options.signal?.addEventListener('abort', onOuterAbort, {once: true})
  // A timeout aborts the plugin's signal (so its MCP requests are cancelled) and ends its wait.
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${options.timeoutMs / 1000} s (raise the limit with --timeout)`)), options.timeoutMs)
  const aborted = new Promise<PluginOutcome>((resolve) => {
    controller.signal.addEventListener('abort', () => resolve({passed: false, message: errorMessage(controller.signal.reason)}), {once: true})
  })

  let outcome: PluginOutcome
  try {
    outcome = await Promise.race([execute(plugin, host, controller.signal), aborted])
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onOuterAbort)
    if (!controller.signal.aborted) controller.abort(new Error('plugin finished'))
  }
  const durationMs = outcome.durationMs ?? Date.now() - startedAt.getTime()
  if (outcome.skipped) return {...base, status: 'skipped', message: outcome.message, durationMs}
  if (outcome.passed) return {...base, status: 'passed', message: outcome.message, error: outcome.error, durationMs}
  // A failure caused by the server going away says so, so the report shows the real cause.
  const problem = plugin.needsConnection !== false ? host.connectionProblem() : undefined
  if (problem) loss.reported = true
  const error = problem ? [outcome.error, `The MCP connection was lost: ${problem}`].filter(Boolean).join('\n') : outcome.error
  return {...base, status: 'failed', message: outcome.message, error, durationMs}
}

async function execute(plugin: TestPlugin, host: SessionHost, signal: AbortSignal): Promise<PluginOutcome> {
  try {
    if (plugin.tool && plugin.needsConnection !== false) {
      const offered = await host.offeredToolNames(signal)
      if (!offered.has(plugin.tool)) return {passed: false, skipped: true, message: TOOL_NOT_OFFERED}
    }
    return await plugin.test(host.forPlugin(signal))
  } catch (error) {
    return {passed: false, message: `threw ${errorSummary(error)}`, error: error instanceof Error ? (error.stack ?? error.message) : String(error)}
  }
}

function errorMessage(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason)
}

/** "Name: message" of a thrown value, one line. */
export function errorSummary(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.split('\n')[0]
  return String(error)
}
