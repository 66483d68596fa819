import {KubeApiError} from '../k8s/errors.ts'
import type {KubeClient} from '../k8s/client.ts'

/**
 * `kmcp test --service ns/name[:port]`: which pod and container port stand behind a Service.
 * The pod comes from the Service's EndpointSlices (what kube-proxy routes to: ready endpoints
 * only), else from its selector; the port is the Service port's targetPort on that pod.
 */

export interface ServiceRef {
  namespace: string
  name: string
  /** A Service port name or number; optional when the Service has one port (or one named http). */
  port?: string
}

/** A problem reaching the Service; the message says what to fix. */
export class ServiceTargetError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ServiceTargetError'
  }
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/

export function parseServiceRef(text: string): ServiceRef {
  const match = /^([^/:\s]+)\/([^/:\s]+)(?::([^/:\s]+))?$/.exec(text.trim())
  if (!match || !NAME.test(match[1]) || !NAME.test(match[2])) throw new ServiceTargetError(`--service ${JSON.stringify(text)} is not NAMESPACE/NAME[:PORT], e.g. --service kmcp/kmcp or --service kmcp/kmcp:http`)
  return {namespace: match[1], name: match[2], port: match[3]}
}

interface ServicePort {
  name?: string
  port: number
  targetPort?: number | string
}
interface Service {
  spec?: {selector?: Record<string, string>; ports?: ServicePort[]; type?: string}
}
interface EndpointSlice {
  ports?: Array<{name?: string | null; port?: number | null}> | null
  endpoints?: Array<{conditions?: {ready?: boolean | null} | null; targetRef?: {kind?: string; name?: string} | null}> | null
}
interface Pod {
  metadata: {name: string; deletionTimestamp?: string}
  spec?: {containers?: Array<{ports?: Array<{name?: string; containerPort: number}>}>}
  status?: {phase?: string; conditions?: Array<{type: string; status: string}>}
}

export interface ServiceBackend {
  pod: string
  /** The container port to forward to. */
  port: number
  /** How the run reports the target, e.g. "service kmcp/kmcp:80 (pod kmcp-7d9c-abcde:4204)". */
  label: string
}

function refused(error: unknown, what: string, ref: ServiceRef, kube: KubeClient): never {
  if (error instanceof KubeApiError && error.status === 403) {
    throw new ServiceTargetError(`${kube.configSource} may not ${what} in namespace ${ref.namespace} (Kubernetes answered 403: ${error.message}). --service needs get on services, list on endpointslices or pods, and get and create on pods/portforward there.`)
  }
  throw error
}

function choosePort(service: Service, ref: ServiceRef): ServicePort {
  const ports = service.spec?.ports ?? []
  const described = ports.map((p) => (p.name ? `${p.name} (${p.port})` : String(p.port))).join(', ') || 'none'
  if (ref.port !== undefined) {
    const found = ports.find((p) => p.name === ref.port || String(p.port) === ref.port)
    if (!found) throw new ServiceTargetError(`Service ${ref.namespace}/${ref.name} has no port ${ref.port}; its ports: ${described}.`)
    return found
  }
  if (ports.length === 1) return ports[0]
  const http = ports.find((p) => p.name === 'http' || p.name === 'mcp')
  if (http) return http
  throw new ServiceTargetError(`Service ${ref.namespace}/${ref.name} has ${ports.length === 0 ? 'no ports' : `several ports (${described})`}; name one: --service ${ref.namespace}/${ref.name}:PORT.`)
}

const isReady = (pod: Pod) => !pod.metadata.deletionTimestamp && pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')

function containerPort(pod: Pod, servicePort: ServicePort): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port
  if (typeof target === 'number') return target
  if (/^\d+$/.test(target)) return Number(target)
  for (const container of pod.spec?.containers ?? []) {
    const found = container.ports?.find((p) => p.name === target)
    if (found) return found.containerPort
  }
  return undefined
}

/** The first ready endpoint pod of the Service's EndpointSlices, with the resolved port. */
async function fromEndpointSlices(kube: KubeClient, ref: ServiceRef, servicePort: ServicePort): Promise<{pod: string; port: number} | undefined> {
  const list = await kube.request<{items: EndpointSlice[]}>({method: 'GET', path: `/apis/discovery.k8s.io/v1/namespaces/${ref.namespace}/endpointslices`, query: {labelSelector: `kubernetes.io/service-name=${ref.name}`}})
  for (const slice of list.items) {
    const port = slice.ports?.find((p) => (p.name ?? '') === (servicePort.name ?? ''))?.port
    if (!port) continue
    const endpoint = slice.endpoints?.find((e) => e.conditions?.ready !== false && e.targetRef?.kind === 'Pod' && e.targetRef.name)
    if (endpoint) return {pod: endpoint.targetRef!.name!, port}
  }
  return undefined
}

/** Finds the pod and port behind the Service; throws ServiceTargetError when there is none. */
export async function resolveServiceBackend(kube: KubeClient, ref: ServiceRef): Promise<ServiceBackend> {
  const where = `${ref.namespace}/${ref.name}`
  const service = await kube.request<Service>({method: 'GET', path: `/api/v1/namespaces/${ref.namespace}/services/${ref.name}`}).catch((error: unknown) => {
    if (error instanceof KubeApiError && error.status === 404) throw new ServiceTargetError(`Service ${where} does not exist (${kube.configSource}); check the namespace and name: kubectl get services -n ${ref.namespace}`)
    return refused(error, 'read services', ref, kube)
  })
  const servicePort = choosePort(service, ref)
  const label = (pod: string, port: number) => `service ${where}:${servicePort.name ?? servicePort.port} (pod ${pod}:${port})`
  const fromSlices = await fromEndpointSlices(kube, ref, servicePort).catch((error: unknown) => {
    // Without the right to list EndpointSlices, the selector still finds the pods.
    if (error instanceof KubeApiError && (error.status === 403 || error.status === 404)) return undefined
    throw error
  })
  if (fromSlices) return {...fromSlices, label: label(fromSlices.pod, fromSlices.port)}
  const selector = service.spec?.selector ?? {}
  if (Object.keys(selector).length === 0) throw new ServiceTargetError(`Service ${where} has no ready endpoint and no selector to find its pods by; --service needs a Service in front of running kmcp pods.`)
  const labelSelector = Object.entries(selector).map(([key, value]) => `${key}=${value}`).join(',')
  const pods = await kube.request<{items: Pod[]}>({method: 'GET', path: `/api/v1/namespaces/${ref.namespace}/pods`, query: {labelSelector}}).catch((error: unknown) => refused(error, 'list pods', ref, kube))
  const ready = pods.items.filter(isReady)
  if (ready.length === 0) {
    const states = pods.items.slice(0, 5).map((pod) => `${pod.metadata.name}: ${pod.metadata.deletionTimestamp ? 'terminating' : (pod.status?.phase ?? 'unknown')}${pod.status?.phase === 'Running' ? ', not ready' : ''}`)
    throw new ServiceTargetError(`Service ${where} has no ready pod: ${pods.items.length === 0 ? `no pod matches its selector ${labelSelector}` : `${pods.items.length} pod(s) match ${labelSelector}, none ready (${states.join('; ')})`}. Check kubectl get pods -n ${ref.namespace} -l ${labelSelector}.`)
  }
  for (const pod of ready) {
    const port = containerPort(pod, servicePort)
    if (port) return {pod: pod.metadata.name, port, label: label(pod.metadata.name, port)}
  }
  throw new ServiceTargetError(`the ready pods of Service ${where} declare no container port named ${JSON.stringify(servicePort.targetPort)} (the Service port's targetPort).`)
}

/** Asks the API server whether this user may port-forward to the pod (SelfSubjectAccessReview), so a missing role is named before anything connects. */
export async function checkPortForwardAllowed(kube: KubeClient, namespace: string, pod: string): Promise<void> {
  const review = await kube
    .request<{status?: {allowed?: boolean; reason?: string}}>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      body: {apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: {resourceAttributes: {namespace, verb: 'create', resource: 'pods', subresource: 'portforward', name: pod}}},
    })
    // An API server that refuses the review itself still answers the port-forward: let that speak.
    .catch(() => undefined)
  if (review?.status?.allowed === false) throw portForwardForbidden(kube, namespace)
}

export function portForwardForbidden(kube: KubeClient, namespace: string): ServiceTargetError {
  return new ServiceTargetError(
    `${kube.configSource} may not port-forward to pods in namespace ${namespace}: RBAC must grant get and create on pods/portforward there, e.g. kubectl create role kmcp-test-forward -n ${namespace} --verb=get,create --resource=pods/portforward (and bind it to the CI identity).`,
  )
}
