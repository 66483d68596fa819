import {type FSWatcher, existsSync, readFileSync, watch} from 'node:fs'
import {basename, dirname} from 'node:path'
import {log} from '../logger.ts'
import {BUILTIN_PROMPT_IDS} from './builtin.ts'
import {type PromptBundle, PromptBundleError, parseBundle} from './bundle.ts'

export const DEFAULT_PROMPTS_PATH = '/etc/mcp/prompts/prompts.yaml'

export interface PromptManifest {
  loaded: boolean
  source: string
  version?: string
  bundle_hash?: string
  updated_at?: string
  prompt_count: number
  prompt_ids: string[]
  builtin_prompt_ids: readonly string[]
  /** Why the last load failed, when it did (the previous bundle stays in use). */
  last_error?: string
  error?: string
}

export interface ReloadResult {
  /** The bundle in use changed. */
  changed: boolean
  error?: string
}

/**
 * The prompt bundle of this process, shared by every MCP session: loaded once at start-up,
 * reloaded when the file changes (or on admin_reload_prompts). A bad file never replaces a good
 * bundle; the reason is kept for the manifest and the log.
 */
export class PromptRegistry {
  readonly path: string
  private current?: PromptBundle
  private loadedAt?: string
  private lastError?: string
  private readonly listeners = new Set<() => void>()
  private watcher?: FSWatcher
  private debounce?: NodeJS.Timeout

  constructor(path: string = DEFAULT_PROMPTS_PATH) {
    this.path = path
  }

  get bundle(): PromptBundle | undefined {
    return this.current
  }

  /**
   * First load. A missing file at the default path is normal (no bundle); a path the operator
   * gave explicitly must exist and be valid, so its error is thrown.
   */
  loadInitial(explicit: boolean): void {
    if (!existsSync(this.path)) {
      if (explicit) throw new PromptBundleError(this.path, ['the file does not exist'])
      log.debug('no prompt bundle file; only the built-in prompts are offered', {path: this.path})
      return
    }
    const result = this.reload()
    if (result.error && explicit) throw new PromptBundleError(this.path, [result.error])
  }

  /** Reads the file again; keeps the previous bundle when the new one is invalid. */
  reload(): ReloadResult {
    let bytes: Buffer
    try {
      bytes = readFileSync(this.path)
    } catch (error) {
      return this.failed((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : `the file cannot be read (${(error as Error).message})`)
    }
    let bundle: PromptBundle
    try {
      bundle = parseBundle(this.path, bytes, BUILTIN_PROMPT_IDS)
    } catch (error) {
      return this.failed(error instanceof PromptBundleError ? error.problems.join('; ') : (error as Error).message)
    }
    this.lastError = undefined
    if (this.current?.hash === bundle.hash) return {changed: false}
    this.current = bundle
    this.loadedAt = new Date().toISOString()
    log.info('prompt bundle loaded', {path: this.path, version: bundle.version, prompts: bundle.prompts.length, hash: bundle.hash.slice(0, 19)})
    for (const listener of this.listeners) listener()
    return {changed: true}
  }

  private failed(reason: string): ReloadResult {
    this.lastError = reason
    log.warn(`prompt bundle not loaded; ${this.current ? 'keeping the previous bundle' : 'only the built-in prompts are offered'}`, {path: this.path, reason})
    return {changed: false, error: reason}
  }

  /** Calls `listener` after every change of the bundle in use; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Reloads when the file changes. Watches the directory, not the file: editors replace files by
   * renaming, and Kubernetes swaps ConfigMap volumes through a symlink in the directory.
   */
  watch(): void {
    const directory = dirname(this.path)
    if (this.watcher || !existsSync(directory)) return
    const name = basename(this.path)
    try {
      this.watcher = watch(directory, {persistent: false}, (_event, file) => {
        if (file && file !== name && file !== '..data') return
        clearTimeout(this.debounce)
        this.debounce = setTimeout(() => this.reload(), 100)
        this.debounce.unref()
      })
      this.watcher.on('error', (error) => log.warn('prompt bundle watch failed; use admin_reload_prompts to reload', {path: this.path, error: error.message}))
    } catch (error) {
      log.warn('cannot watch the prompt bundle; use admin_reload_prompts to reload', {path: this.path, error: (error as Error).message})
    }
  }

  close(): void {
    clearTimeout(this.debounce)
    this.watcher?.close()
    this.watcher = undefined
  }

  manifest(): PromptManifest {
    const bundle = this.current
    const base = {source: this.path, builtin_prompt_ids: BUILTIN_PROMPT_IDS, ...(this.lastError ? {last_error: this.lastError} : {})}
    if (!bundle) return {loaded: false, error: 'No prompts loaded', prompt_count: 0, prompt_ids: [], ...base}
    return {
      loaded: true,
      version: bundle.version,
      bundle_hash: bundle.hash,
      updated_at: bundle.updated_at ?? this.loadedAt,
      prompt_count: bundle.prompts.length,
      prompt_ids: bundle.prompts.map((p) => p.id),
      ...base,
    }
  }
}

let processRegistry = new PromptRegistry()

/** The registry every MCP server of this process uses. */
export function promptRegistry(): PromptRegistry {
  return processRegistry
}

/** Sets up the process's prompt registry at start-up (serve). Throws PromptBundleError for a bad explicit path. */
export function configurePrompts(options: {path?: string; explicit: boolean; watch: boolean}): PromptRegistry {
  processRegistry.close()
  processRegistry = new PromptRegistry(options.path ?? DEFAULT_PROMPTS_PATH)
  processRegistry.loadInitial(options.explicit)
  if (options.watch) processRegistry.watch()
  return processRegistry
}
