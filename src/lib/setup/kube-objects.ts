/**
 * Idempotent create-or-update of the Kubernetes objects the set-up commands own. Each object is
 * read first: missing → created, different → updated, equal → left alone, so a second run
 * changes nothing. A dry run sends the same requests with dryRun=All: the API server validates
 * them and checks permissions, and stores nothing.
 */
import type {KubeClient} from '../k8s/client.ts'
import {KubeApiError, describeKubeError} from '../k8s/errors.ts'
import type {ChangeLog, Change, Progress} from './ui.ts'

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: {name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; [key: string]: unknown}
  [key: string]: unknown
}

/** A Kubernetes failure during set-up, already turned into the message to show. */
export class SetupKubeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SetupKubeError'
  }
}

/**
 * The message for a failed call. 403 gets set-up specific advice (the generic advice is about
 * the CNPG roles of kmcp's own account, which is not who runs these commands).
 */
export function setupKubeErrorMessage(error: unknown, action: string, configSource?: string): string {
  if (error instanceof KubeApiError && error.status === 403) {
    return [
      `Kubernetes API error 403 Forbidden while ${action}: ${error.message}`,
      `What to do: the identity in ${configSource ?? 'your kubeconfig'} is not allowed to do this. Run the command with a cluster-admin kubeconfig (--kubeconfig PATH --context NAME), or ask an administrator to run it.`,
    ].join('\n')
  }
  return describeKubeError(error, action)
}

/** Attempts for a call the API server throttles (429, API Priority and Fairness) before giving up. */
const THROTTLE_ATTEMPTS = 4

/**
 * Runs one API call, turning failures into SetupKubeError with the action in the message. A 429
 * is retried after the server's Retry-After (at most a few seconds): throttling is the server
 * asking to slow down, not an answer.
 */
export async function kubeCall<T>(kube: KubeClient, action: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call()
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 429 && attempt < THROTTLE_ATTEMPTS) {
        const seconds = Math.min(error.details?.retryAfterSeconds ?? 1, 5)
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
        continue
      }
      throw new SetupKubeError(setupKubeErrorMessage(error, action, kube.configSource))
    }
  }
}

export async function readObject<T>(kube: KubeClient, path: string, action: string): Promise<T | undefined> {
  try {
    return await kube.request<T>({method: 'GET', path})
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return undefined
    throw new SetupKubeError(setupKubeErrorMessage(error, action, kube.configSource))
  }
}

/**
 * Fails early, with one clear message, when the namespace does not exist. A 403 on reading
 * namespaces is not an answer (many users may not read them), so the later calls decide.
 */
export async function requireNamespace(kube: KubeClient, namespace: string): Promise<void> {
  try {
    await kube.request({method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}`})
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) {
      throw new SetupKubeError(`Namespace "${namespace}" does not exist in the cluster at ${kube.server}. Create it first (kubectl create namespace ${namespace}) or pass the right --namespace.`)
    }
    if (error instanceof KubeApiError && error.status === 403) return
    throw new SetupKubeError(setupKubeErrorMessage(error, `reading namespace ${namespace}`, kube.configSource))
  }
}

export interface EnsureOptions {
  kube: KubeClient
  changes: ChangeLog
  progress: Progress
  dryRun: boolean
}

export interface EnsureSpec<T extends KubeObject> {
  /** Collection path, e.g. /api/v1/namespaces/x/secrets. */
  collectionPath: string
  desired: T
  /**
   * Given the stored object, the object to write back when it must change (with the reason for
   * the report), or null when it already is as wanted.
   */
  reconcile: (existing: T) => {next: T; detail: string} | null
  /** Shown in the report for a creation (e.g. which data keys). Never secret values. */
  createdDetail?: string
}

export async function ensureObject<T extends KubeObject>(options: EnsureOptions, spec: EnsureSpec<T>): Promise<Change> {
  const {kube, changes, progress, dryRun} = options
  const {kind, metadata} = spec.desired
  const what = `${kind} ${metadata.namespace ? `${metadata.namespace}/` : ''}${metadata.name}`
  const itemPath = `${spec.collectionPath}/${encodeURIComponent(metadata.name)}`
  const query = {fieldManager: 'kmcp', ...(dryRun ? {dryRun: 'All'} : {})}
  return progress.step(`${dryRun ? 'checking' : 'ensuring'} ${what}`, async () => {
    const existing = await readObject<T>(kube, itemPath, `reading ${what}`)
    if (!existing) {
      await kubeCall(kube, `creating ${what}`, () => kube.request({method: 'POST', path: spec.collectionPath, query, body: spec.desired}))
      return changes.add({kind, name: metadata.name, namespace: metadata.namespace, outcome: dryRun ? 'would create' : 'created', detail: spec.createdDetail})
    }
    const update = spec.reconcile(existing)
    if (!update) return changes.add({kind, name: metadata.name, namespace: metadata.namespace, outcome: 'unchanged'})
    await kubeCall(kube, `updating ${what}`, () => kube.request({method: 'PUT', path: itemPath, query, body: update.next}))
    return changes.add({kind, name: metadata.name, namespace: metadata.namespace, outcome: dryRun ? 'would update' : 'updated', detail: update.detail})
  })
}

/** Labels missing or different on `existing` compared with `wanted`. */
export function labelsDiffer(existing: Record<string, string> | undefined, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).some(([key, value]) => existing?.[key] !== value)
}

/** Stable comparison of JSON-like values (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b)
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return JSON.stringify(value ?? null)
}
