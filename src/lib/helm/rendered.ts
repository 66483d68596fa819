/**
 * What kmcp learns from the chart as helm rendered it for this release: the objects, the
 * Deployments to wait for, the Secrets the pods need, the sign-in settings. Reading the rendered
 * manifests (instead of re-deriving them from values) keeps the chart the one place that decides.
 */
import {parse as parseYaml, parseAllDocuments} from 'yaml'
import type {KubeObject} from '../setup/kube-objects.ts'

export interface NeededSecret {
  name: string
  keys: string[]
  /** What reads it, for messages. */
  usedBy: string
}

export interface RenderedRelease {
  objects: KubeObject[]
  deployments: string[]
  secrets: NeededSecret[]
  /** oidc.yaml as the pods will read it; undefined when authentication is off. */
  oidcConfig?: Record<string, unknown>
  mcpPath: string
}

interface PodSpec {
  containers?: Array<{name: string; args?: string[]; env?: Array<{valueFrom?: {secretKeyRef?: {name: string; key: string; optional?: boolean}}}>}>
  volumes?: Array<{projected?: {sources?: Array<{secret?: {name: string; optional?: boolean; items?: Array<{key: string}>}}>}; secret?: {secretName: string; optional?: boolean}}>
}

export function parseRendered(manifests: string): RenderedRelease {
  const objects: KubeObject[] = []
  for (const doc of parseAllDocuments(manifests)) {
    if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors[0].message}`)
    const value = doc.toJS() as KubeObject | null
    if (value && typeof value === 'object' && value.kind) objects.push(value)
  }
  const deployments = objects.filter((o) => o.kind === 'Deployment')
  const secrets = new Map<string, NeededSecret>()
  const need = (name: string, key: string, usedBy: string) => {
    const entry = secrets.get(name) ?? {name, keys: [], usedBy}
    if (!entry.keys.includes(key)) entry.keys.push(key)
    secrets.set(name, entry)
  }
  let mcpPath = '/mcp'
  for (const deployment of deployments) {
    const pod = (deployment as {spec?: {template?: {spec?: PodSpec}}}).spec?.template?.spec ?? {}
    const usedBy = `Deployment ${deployment.metadata.name}`
    for (const volume of pod.volumes ?? []) {
      for (const source of volume.projected?.sources ?? []) {
        if (source.secret && !source.secret.optional) for (const item of source.secret.items ?? []) need(source.secret.name, item.key, usedBy)
      }
      if (volume.secret && !volume.secret.optional) need(volume.secret.secretName, '', usedBy)
    }
    for (const container of pod.containers ?? []) {
      for (const env of container.env ?? []) {
        const ref = env.valueFrom?.secretKeyRef
        if (ref && !ref.optional) need(ref.name, ref.key, usedBy)
      }
      const pathArg = container.args?.find((arg) => arg.startsWith('--path='))
      if (container.name === 'kmcp' && pathArg) mcpPath = pathArg.slice('--path='.length)
    }
  }
  // Secrets the chart renders itself (the bundled Redis's generated password) are not prerequisites.
  const renderedSecrets = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name))
  for (const name of renderedSecrets) secrets.delete(name)
  const oidcMap = objects.find((o) => o.kind === 'ConfigMap' && typeof (o as {data?: Record<string, string>}).data?.['oidc.yaml'] === 'string') as {data: Record<string, string>} | undefined
  const oidcConfig = oidcMap ? ((parseYaml(oidcMap.data['oidc.yaml']) ?? {}) as Record<string, unknown>) : undefined
  return {
    objects,
    deployments: deployments.map((d) => d.metadata.name),
    secrets: [...secrets.values()].map((s) => ({...s, keys: s.keys.filter(Boolean)})),
    oidcConfig,
    mcpPath,
  }
}

/** The sign-in settings kmcp cannot start without, each with the flag that sets it. */
export function missingSignInSettings(oidcConfig: Record<string, unknown> | undefined): string[] {
  if (!oidcConfig) return []
  const missing: string[] = []
  const empty = (key: string) => oidcConfig[key] === undefined || oidcConfig[key] === null || oidcConfig[key] === ''
  if (empty('issuer')) missing.push('--issuer (oidc.issuer): the identity provider\'s issuer URL')
  if (empty('client_id')) missing.push('--client-id (oidc.clientId): kmcp\'s application at the identity provider')
  if (empty('public_url')) missing.push('--public-url (oidc.publicUrl, or ingress.enabled with ingress.host): the https:// origin MCP clients use')
  if (oidcConfig.auth_type === 'auth0' && empty('audience')) missing.push('--audience (oidc.audience): the Auth0 API identifier')
  return missing
}
