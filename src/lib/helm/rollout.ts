/**
 * Waiting for Deployments to finish rolling out, the way `kubectl rollout status` judges it:
 * the controller saw the newest spec, every replica runs it, and all of them are available.
 */
import type {KubeClient} from '../k8s/client.ts'
import {KubeApiError, describeKubeError} from '../k8s/errors.ts'

interface DeploymentState {
  metadata: {name: string; generation?: number}
  spec?: {replicas?: number}
  status?: {
    observedGeneration?: number
    replicas?: number
    updatedReplicas?: number
    readyReplicas?: number
    availableReplicas?: number
    conditions?: Array<{type: string; status: string; reason?: string; message?: string}>
  }
}

export interface RolloutState {
  name: string
  ready: boolean
  /** One line for progress output, e.g. "1/2 updated, 0/2 available". */
  summary: string
  /** Set when the rollout can no longer succeed (progress deadline exceeded). */
  failure?: string
}

export function rolloutState(deployment: DeploymentState): RolloutState {
  const name = deployment.metadata.name
  const desired = deployment.spec?.replicas ?? 1
  const status = deployment.status ?? {}
  const observed = (status.observedGeneration ?? 0) >= (deployment.metadata.generation ?? 1)
  const updated = status.updatedReplicas ?? 0
  const available = status.availableReplicas ?? 0
  const total = status.replicas ?? 0
  const stalled = status.conditions?.find((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded')
  const ready = observed && updated >= desired && total <= updated && available >= desired
  const summary = observed ? `${updated}/${desired} updated, ${available}/${desired} available${total > updated ? `, ${total - updated} old still running` : ''}` : 'waiting for the Deployment controller'
  return {name, ready, summary, failure: stalled ? `deployment/${name} stopped progressing: ${stalled.message ?? stalled.reason}` : undefined}
}

export class RolloutError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RolloutError'
  }
}

/**
 * Polls until every Deployment is rolled out. `onProgress` gets a line whenever one changes.
 * Throws RolloutError on timeout or when a Deployment stops progressing.
 */
export async function waitForRollout(options: {
  kube: KubeClient
  namespace: string
  deployments: string[]
  timeoutMs: number
  intervalMs?: number
  onProgress: (line: string) => void
}): Promise<void> {
  const deadline = Date.now() + options.timeoutMs
  const last = new Map<string, string>()
  const pending = new Set(options.deployments)
  while (pending.size > 0) {
    for (const name of [...pending]) {
      let deployment: DeploymentState
      try {
        deployment = await options.kube.request<DeploymentState>({method: 'GET', path: `/apis/apps/v1/namespaces/${encodeURIComponent(options.namespace)}/deployments/${encodeURIComponent(name)}`})
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 404) throw new RolloutError(`deployment/${name} disappeared while waiting for it.`)
        throw new RolloutError(describeKubeError(error, `reading deployment ${options.namespace}/${name}`))
      }
      const state = rolloutState(deployment)
      if (state.failure) throw new RolloutError(state.failure)
      if (last.get(name) !== state.summary) {
        last.set(name, state.summary)
        options.onProgress(`deployment/${name}: ${state.summary}`)
      }
      if (state.ready) pending.delete(name)
    }
    if (pending.size === 0) return
    if (Date.now() >= deadline) {
      const waiting = [...pending].map((name) => `deployment/${name} (${last.get(name)})`).join(', ')
      throw new RolloutError(`the rollout did not finish within ${Math.round(options.timeoutMs / 1000)} s: ${waiting}. Look at the pods: kubectl --namespace ${options.namespace} get pods; kubectl --namespace ${options.namespace} describe deployment/${[...pending][0]}`)
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1000))
  }
}
