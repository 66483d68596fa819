import type {KubeClient, KubeRequest} from '../../k8s/client.ts'
import {FIELD_MANAGER, asDryRun, changesNothing} from '../dry-run.ts'

/** One write request as the policy saw it: for the dry-run result and the audit log. */
export interface RecordedWrite {
  method: string
  path: string
  /** The object the API server returned (in a dry run: what it would store). */
  response?: unknown
}

export interface WriteGate {
  dryRun: boolean
  /** Called before every real write; asks once, then answers at once; throws (and records) a refusal. */
  beforeFirstWrite(): Promise<void>
  writes: RecordedWrite[]
}

/**
 * The Kubernetes client a tool handler gets. Reads pass through. Writes are where the policy acts:
 * in a dry run every write carries dryRun=All (one mechanism for every tool, however many requests
 * it makes); otherwise the first write waits for the confirmation the tool needs. A refused call
 * therefore sends no write to Kubernetes at all.
 */
export function guardKube(client: KubeClient, gate: WriteGate): KubeClient {
  const guarded = Object.create(client) as KubeClient
  guarded.request = async <T>(request: KubeRequest): Promise<T> => {
    if (changesNothing(request)) return client.request<T>(request)
    if (gate.dryRun) {
      const response = await client.request<T>(asDryRun(request))
      gate.writes.push({method: request.method, path: request.path, response})
      return response
    }
    await gate.beforeFirstWrite()
    const query = request.method === 'DELETE' || request.query?.fieldManager ? request.query : {...request.query, fieldManager: FIELD_MANAGER}
    const response = await client.request<T>({...request, query})
    gate.writes.push({method: request.method, path: request.path})
    return response
  }
  guarded.withImpersonation = (user: string, groups: string[]) => guardKube(client.withImpersonation(user, groups), gate)
  return guarded
}
