import {readdir} from 'node:fs/promises'
import {basename, extname, join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import type {TestPlugin} from './plugin.ts'

const PLUGIN_FILE = /\.(m?js|m?ts)$/

/** A plugin directory that cannot be loaded; the message names the file and what is wrong. */
export class PluginLoadError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PluginLoadError'
  }
}

/**
 * Loads the plugin modules in a directory (.js, .mjs, .ts, .mts; not .d.ts), in file-name order.
 * A module exports its plugins as `default` (one plugin or a list) and/or `plugins` (a list).
 * Plugins without a group are put in a group named after their file.
 */
export async function loadPluginDirectory(directory: string): Promise<TestPlugin[]> {
  const full = resolve(directory)
  let entries: string[]
  try {
    entries = (await readdir(full)).filter((name) => PLUGIN_FILE.test(name) && !/\.d\.m?ts$/.test(name)).sort()
  } catch (error) {
    throw new PluginLoadError(`cannot read --plugins directory ${directory}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  if (entries.length === 0) throw new PluginLoadError(`--plugins directory ${directory} holds no .js or .ts plugin files`)
  const plugins: TestPlugin[] = []
  for (const entry of entries) {
    const file = join(full, entry)
    let module: Record<string, unknown>
    try {
      module = (await import(pathToFileURL(file).href)) as Record<string, unknown>
    } catch (error) {
      throw new PluginLoadError(`cannot load plugin file ${file}: ${(error as Error).message}`)
    }
    const exported = [module.default, module.plugins].flatMap((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]))
    if (exported.length === 0) throw new PluginLoadError(`plugin file ${file} exports no plugins (export default a plugin or a list, or export const plugins = [...])`)
    for (const value of exported) plugins.push(checkPlugin(value, file, basename(entry, extname(entry))))
  }
  return plugins
}

function checkPlugin(value: unknown, file: string, defaultGroup: string): TestPlugin {
  const plugin = value as Partial<TestPlugin> | null
  const where = `plugin ${JSON.stringify(plugin?.name ?? '?')} in ${file}`
  if (!plugin || typeof plugin !== 'object') throw new PluginLoadError(`${file} exports something that is not a plugin object`)
  if (typeof plugin.name !== 'string' || !plugin.name) throw new PluginLoadError(`${where}: "name" must be a non-empty string`)
  if (typeof plugin.test !== 'function') throw new PluginLoadError(`${where}: "test" must be a function (session) => Promise<{passed, message}>`)
  for (const field of ['dependsOn', 'runAfter'] as const) {
    const list = plugin[field]
    if (list !== undefined && !(Array.isArray(list) && list.every((entry) => typeof entry === 'string'))) throw new PluginLoadError(`${where}: "${field}" must be a list of plugin names`)
  }
  if (plugin.group !== undefined && typeof plugin.group !== 'string') throw new PluginLoadError(`${where}: "group" must be a string`)
  return {...plugin, name: plugin.name, test: plugin.test, group: plugin.group ?? defaultGroup, description: typeof plugin.description === 'string' ? plugin.description : ''} as TestPlugin
}
