/**
 * `kmcp secrets create --from-release <name>`: the keys of a Python-reference release, read from
 * its Secrets (kebab-case data keys; the reference chart names its Secrets after the release, e.g.
 * <release>-auth0-credentials), so the kmcp release keeps the same client secret, signing key and
 * storage key: issued tokens and stored sessions stay valid across the move.
 */
import type {KubeClient} from '../k8s/client.ts'
import {readObject} from './kube-objects.ts'
import {SetupInputError} from './ui.ts'

const REFERENCE_KEYS = {clientSecret: 'server-client-secret', jwtSigningKey: 'jwt-signing-key', storageEncryptionKey: 'storage-encryption-key'} as const

export interface ReferenceValues {
  clientSecret?: string
  jwtSigningKey?: string
  storageEncryptionKey?: string
  /** "secret/key" of every value found, for the report (names only). */
  sources: string[]
}

interface SecretList {
  items?: Array<{metadata?: {name?: string}; data?: Record<string, string>}>
}

/** Every reference key held by a Secret named <release>-… in the namespace; two different values for one key are refused. */
export async function readReferenceRelease(kube: KubeClient, namespace: string, release: string): Promise<ReferenceValues> {
  const list = await readObject<SecretList>(kube, `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`, `listing the Secrets of namespace ${namespace}`)
  const found: ReferenceValues = {sources: []}
  for (const secret of list?.items ?? []) {
    const name = secret.metadata?.name ?? ''
    if (!name.startsWith(`${release}-`)) continue
    for (const [field, key] of Object.entries(REFERENCE_KEYS) as Array<[keyof typeof REFERENCE_KEYS, string]>) {
      const raw = secret.data?.[key]
      if (raw === undefined) continue
      const value = Buffer.from(raw, 'base64').toString('utf8').trim()
      if (!value) continue
      if (found[field] !== undefined && found[field] !== value) throw new SetupInputError(`two Secrets of release ${release} in ${namespace} hold different ${key} values (${found.sources.join(', ')} and ${name}/${key}); pass the one to keep with --${key === 'server-client-secret' ? 'client-secret-file' : key}.`)
      found[field] = value
      found.sources.push(`${name}/${key}`)
    }
  }
  if (found.sources.length === 0) throw new SetupInputError(`no Secret named ${release}-… in namespace ${namespace} holds ${Object.values(REFERENCE_KEYS).join(', ')}: check --from-release and --namespace.`)
  return found
}
