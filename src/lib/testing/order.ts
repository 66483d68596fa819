import type {TestPlugin} from './plugin.ts'

/** A plugin set that cannot be run: duplicate or unknown names, or a dependency cycle. */
export class PluginGraphError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PluginGraphError'
  }
}

/** Everything a plugin waits for: its hard dependencies and its soft ordering. */
export function predecessors(plugin: TestPlugin): string[] {
  return [...(plugin.dependsOn ?? []), ...(plugin.runAfter ?? [])]
}

/** Throws on duplicate names and on dependsOn/runAfter entries that name no loaded plugin. */
export function checkPluginNames(plugins: TestPlugin[]): void {
  const names = new Set<string>()
  for (const plugin of plugins) {
    if (names.has(plugin.name)) throw new PluginGraphError(`two plugins are named "${plugin.name}"; plugin names must be unique`)
    names.add(plugin.name)
  }
  for (const plugin of plugins) {
    for (const [field, list] of [['dependsOn', plugin.dependsOn], ['runAfter', plugin.runAfter]] as const) {
      for (const name of list ?? []) {
        if (!names.has(name)) throw new PluginGraphError(`plugin "${plugin.name}" ${field} "${name}", but no plugin has that name`)
      }
    }
  }
}

/**
 * The plugins in an order where each comes after everything it waits for. Ties keep the order in
 * which the plugins were given, so a run is reproducible. Entries naming plugins outside `plugins`
 * are ignored (the caller selected a subset). Throws with the cycle when there is one.
 */
export function topologicalOrder(plugins: TestPlugin[]): TestPlugin[] {
  const byName = new Map(plugins.map((plugin) => [plugin.name, plugin]))
  const position = new Map(plugins.map((plugin, index) => [plugin.name, index]))
  const waitingFor = new Map<string, number>()
  const successors = new Map<string, string[]>()
  for (const plugin of plugins) {
    const before = [...new Set(predecessors(plugin))].filter((name) => byName.has(name))
    waitingFor.set(plugin.name, before.length)
    for (const name of before) successors.set(name, [...(successors.get(name) ?? []), plugin.name])
  }
  const ready = plugins.filter((plugin) => waitingFor.get(plugin.name) === 0).map((plugin) => plugin.name)
  const ordered: TestPlugin[] = []
  while (ready.length > 0) {
    ready.sort((a, b) => position.get(a)! - position.get(b)!)
    const name = ready.shift()!
    ordered.push(byName.get(name)!)
    for (const next of successors.get(name) ?? []) {
      const left = waitingFor.get(next)! - 1
      waitingFor.set(next, left)
      if (left === 0) ready.push(next)
    }
  }
  if (ordered.length < plugins.length) {
    const stuck = plugins.filter((plugin) => waitingFor.get(plugin.name)! > 0)
    throw new PluginGraphError(`plugin dependency cycle: ${findCycle(stuck, byName).join(' → ')} (check dependsOn and runAfter)`)
  }
  return ordered
}

/** One cycle among plugins that could not be ordered, as names with the first repeated at the end. */
function findCycle(stuck: TestPlugin[], byName: Map<string, TestPlugin>): string[] {
  const stuckNames = new Set(stuck.map((plugin) => plugin.name))
  const path: string[] = []
  const onPath = new Set<string>()
  const done = new Set<string>()
  const visit = (name: string): string[] | undefined => {
    if (onPath.has(name)) return [...path.slice(path.indexOf(name)), name]
    if (done.has(name)) return undefined
    path.push(name)
    onPath.add(name)
    for (const next of predecessors(byName.get(name)!)) {
      if (!stuckNames.has(next)) continue
      const cycle = visit(next)
      if (cycle) return cycle
    }
    path.pop()
    onPath.delete(name)
    done.add(name)
    return undefined
  }
  for (const plugin of stuck) {
    const cycle = visit(plugin.name)
    // Found by following "waits for" edges; reversed it reads in running order.
    if (cycle) return cycle.reverse()
  }
  return stuck.map((plugin) => plugin.name)
}

export interface Selection {
  /** Suites (plugin groups) to run; empty means all. */
  suites?: string[]
  /** Only these plugins (plus what they depend on, and their group's cleanup); with suites, these in addition. */
  only?: string[]
  /** Leave these out; plugins depending on them are skipped with the reason. */
  skip?: string[]
}

export interface Selected {
  plugins: TestPlugin[]
  /** Plugins left out with --skip, by name, with the reason their dependents will show. */
  excluded: Map<string, string>
}

/** Applies --suite, --only and --skip to the loaded plugins. Throws on names that match nothing. */
export function selectPlugins(all: TestPlugin[], selection: Selection): Selected {
  const byName = new Map(all.map((plugin) => [plugin.name, plugin]))
  const groups = new Set(all.map((plugin) => plugin.group))
  for (const suite of selection.suites ?? []) {
    if (!groups.has(suite)) throw new PluginGraphError(`no suite named "${suite}"; suites: ${[...groups].sort().join(', ')}`)
  }
  for (const name of [...(selection.only ?? []), ...(selection.skip ?? [])]) {
    if (!byName.has(name)) throw new PluginGraphError(`no plugin named "${name}"; list them with --list`)
  }
  const chosen = new Set<string>()
  const add = (plugin: TestPlugin): void => {
    if (chosen.has(plugin.name)) return
    chosen.add(plugin.name)
    for (const name of plugin.dependsOn ?? []) add(byName.get(name)!)
  }
  const suites = selection.suites?.length ? new Set(selection.suites) : undefined
  // --only alone runs just those plugins; together with --suite it adds them to the suites.
  for (const name of selection.only ?? []) add(byName.get(name)!)
  if (suites || !selection.only?.length) for (const plugin of all) if (!suites || suites.has(plugin.group)) add(plugin)
  const chosenGroups = new Set(all.filter((plugin) => chosen.has(plugin.name) && !plugin.cleanup).map((plugin) => plugin.group))
  for (const plugin of all) if (plugin.cleanup && chosenGroups.has(plugin.group)) add(plugin)
  const excluded = new Map<string, string>()
  for (const name of selection.skip ?? []) {
    if (chosen.delete(name)) excluded.set(name, `depends on "${name}", which was excluded with --skip`)
  }
  const plugins = all.filter((plugin) => chosen.has(plugin.name))
  // A cleanup plugin runs after every other selected plugin of its group, external ones included.
  const withCleanupLast = plugins.map((plugin) => {
    if (!plugin.cleanup) return plugin
    const others = plugins.filter((other) => other.group === plugin.group && !other.cleanup).map((other) => other.name)
    return {...plugin, runAfter: [...new Set([...(plugin.runAfter ?? []), ...others])]}
  })
  return {plugins: withCleanupLast, excluded}
}
