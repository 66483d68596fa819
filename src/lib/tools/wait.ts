import {z} from 'zod'
import type {KubeClient} from '../k8s/client.ts'
import {describeKubeError} from '../k8s/errors.ts'
import type {ToolContext} from './registry.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from './common-parameters.ts'
import {once} from './lazy.ts'

/**
 * Waiting for a long operation (cluster creation, scaling, restore) to finish: a watch rather than
 * polling, MCP progress notifications on every change of state and as a heartbeat, cancellation
 * when the client cancels the call, and an explicit outcome when time runs out.
 */

/** Where an object stands, as judged by the caller. */
export interface WaitState {
  done: boolean
  /** One line for the human, e.g. "2/3 instances ready, phase: Creating replica". */
  message: string
}

export type WaitOutcome = 'done' | 'timeout' | 'cancelled' | 'deleted' | 'failed'

export interface WaitResult<T> {
  outcome: WaitOutcome
  /** The last version of the object seen. */
  last?: T
  lastMessage: string
  elapsedSeconds: number
  /** Why waiting failed (outcome "failed"): the watch itself was refused or broke. */
  error?: string
}

interface Named {
  metadata: {name: string}
}

const HEARTBEAT_MS = 10_000

export async function waitForObject<T extends Named>(
  kube: KubeClient,
  context: ToolContext,
  options: {collectionPath: string; name: string; timeoutSeconds: number; evaluate(object: T): WaitState},
): Promise<WaitResult<T>> {
  const started = Date.now()
  const elapsed = () => Math.round((Date.now() - started) / 1000)
  const stop = new AbortController()
  const abort = () => stop.abort()
  context.signal.addEventListener('abort', abort)
  const timer = setTimeout(abort, options.timeoutSeconds * 1000)
  let last: T | undefined
  let lastMessage = 'waiting for the first status'
  // Progress must only grow (MCP spec), so it counts notifications rather than, say, ready instances.
  let step = 0
  const notify = (message: string) => context.progress(++step, undefined, message).catch(() => undefined)
  const heartbeat = setInterval(() => void notify(`still waiting after ${elapsed()} s: ${lastMessage}`), HEARTBEAT_MS)
  const observe = async (object: T): Promise<boolean> => {
    last = object
    const state = options.evaluate(object)
    if (state.message !== lastMessage || state.done) {
      lastMessage = state.message
      await notify(state.message)
    }
    return state.done
  }
  const finish = (outcome: WaitOutcome, error?: string): WaitResult<T> => ({outcome, last, lastMessage, elapsedSeconds: elapsed(), error})
  const fieldSelector = `metadata.name=${options.name}`
  try {
    while (!stop.signal.aborted) {
      // List first: it gives the current state and the resourceVersion to watch from.
      const list = await kube.request<{items: T[]; metadata: {resourceVersion?: string}}>({method: 'GET', path: options.collectionPath, query: {fieldSelector}, signal: stop.signal})
      const current = list.items[0]
      if (!current) return finish('deleted')
      if (await observe(current)) return finish('done')
      const remaining = Math.max(1, Math.ceil(options.timeoutSeconds - (Date.now() - started) / 1000))
      for await (const event of kube.watch<T>(options.collectionPath, {fieldSelector, resourceVersion: list.metadata.resourceVersion, timeoutSeconds: remaining}, stop.signal)) {
        if (event.type === 'BOOKMARK') continue
        // ERROR is typically 410 Gone (history compacted): list again and resume.
        if (event.type === 'ERROR') break
        if (event.type === 'DELETED') return finish('deleted')
        if (await observe(event.object)) return finish('done')
      }
    }
  } catch (error) {
    if (!stop.signal.aborted) return finish('failed', describeKubeError(error, `watching ${options.name}`))
  } finally {
    clearTimeout(timer)
    clearInterval(heartbeat)
    context.signal.removeEventListener('abort', abort)
  }
  return finish(context.signal.aborted ? 'cancelled' : 'timeout')
}

/** One sentence on how a wait ended, for the tools' text output. */
export function describeWait(result: WaitResult<unknown>, what: string, timeoutSeconds: number): string {
  switch (result.outcome) {
    case 'done':
      return `${what} reached the desired state after ${result.elapsedSeconds} s: ${result.lastMessage}.`
    case 'timeout':
      return `TIMED OUT: ${what} did not reach the desired state within ${timeoutSeconds} s (last seen: ${result.lastMessage}). The change itself was made and the operator keeps working on it; check again later with get_cluster_status.`
    case 'cancelled':
      return `Waiting was cancelled after ${result.elapsedSeconds} s (last seen: ${result.lastMessage}). The change itself was made.`
    case 'deleted':
      return `${what} was deleted while waiting (after ${result.elapsedSeconds} s).`
    case 'failed':
      return `The change was made, but waiting for it failed: ${result.error}`
  }
}

export const waitParam = once(() => z
  .boolean()
  .default(false)
  .describe(SHARED_PARAMETER_DESCRIPTIONS.wait))

export const waitTimeoutParam = once(() => z
  .number()
  .int('timeout must be a whole number of seconds')
  .min(5, 'timeout must be at least 5 seconds')
  .max(1800, 'timeout must be at most 1800 seconds (30 minutes)')
  .optional()
  .describe(SHARED_PARAMETER_DESCRIPTIONS.timeout))

/** The reference's default: a minute per instance, clamped to 30-600 s. */
export function defaultWaitTimeout(instances: number): number {
  return Math.min(600, Math.max(30, 60 * instances))
}
