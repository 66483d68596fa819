import {stringify} from 'yaml'
import type {KubeClient, KubeRequest} from '../k8s/client.ts'
import {kubeStep} from './errors.ts'

/**
 * Server-side dry run: the request goes to the API server with dryRun=All, so the preview is what
 * Kubernetes itself would store (defaults applied, CRD schema, CEL rules and webhooks checked).
 * A rejection comes back as a ToolError naming the fields, exactly as a real request would.
 */
export async function serverDryRun<T extends object>(kube: KubeClient, request: KubeRequest, action: string): Promise<T> {
  return kubeStep(`${action} (dry run)`, () => kube.request<T>(asDryRun(request)))
}

/** The same write request with dryRun=All: the API server checks it fully and stores nothing. */
export function asDryRun(request: KubeRequest): KubeRequest {
  // A DELETE with a DeleteOptions body takes its options from the body only: the query's dryRun
  // would be ignored and the object really deleted.
  const body = request.method === 'DELETE' && request.body && typeof request.body === 'object' ? {...request.body, dryRun: ['All']} : request.body
  const query = request.method === 'DELETE' ? {...request.query, dryRun: 'All'} : {...request.query, dryRun: 'All', fieldManager: FIELD_MANAGER}
  return {...request, body, query}
}

/** True for a request that cannot change anything: a read, or a write already marked dryRun=All. */
export function changesNothing(request: KubeRequest): boolean {
  if (request.method === 'GET') return true
  if (request.query?.dryRun === 'All') return request.method !== 'DELETE' || !hasBody(request) || bodyIsDryRun(request)
  return bodyIsDryRun(request)
}

const hasBody = (request: KubeRequest) => Boolean(request.body && typeof request.body === 'object')
const bodyIsDryRun = (request: KubeRequest) => hasBody(request) && ((request.body as {dryRun?: unknown}).dryRun as unknown[] | undefined)?.includes?.('All') === true

/** The field manager kmcp writes as, so `kubectl get -o yaml --show-managed-fields` names it. */
export const FIELD_MANAGER = 'kmcp'

/** Strips the bookkeeping fields that say nothing about the change, for a readable preview. */
export function previewObject(object: Record<string, unknown>): Record<string, unknown> {
  const {status: _status, ...rest} = object
  const metadata = {...(rest.metadata as Record<string, unknown> | undefined)}
  for (const key of ['managedFields', 'uid', 'resourceVersion', 'creationTimestamp', 'generation', 'selfLink']) delete metadata[key]
  return {...rest, metadata}
}

export function toYaml(object: unknown): string {
  return stringify(object, {lineWidth: 0}).trimEnd()
}

/** The dry-run text: what would be stored, as YAML, and the server's verdict. */
export function renderDryRun(options: {heading: string; object?: Record<string, unknown>; notes?: string[]; nextStep: string}): string {
  const objectLines = options.object ? ['', 'The object as the API server would store it:', '```yaml', toYaml(previewObject(options.object)), '```'] : []
  return [
    `**Dry run: ${options.heading}**`,
    '',
    'The API server accepted this request with dryRun=All (permissions, CRD schema, CEL rules and any admission webhooks passed). Nothing was stored.',
    ...(options.notes ?? []),
    ...objectLines,
    '',
    options.nextStep,
  ].join('\n')
}
