/**
 * `kmcp secrets create`: the two Secrets the Helm chart mounts (names in secret-names.ts).
 * The whole plan is worked out from what is stored before anything is written, so a refusal
 * (an existing key without --rotate) leaves the cluster untouched.
 */
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import type {KubeClient} from '../k8s/client.ts'
import {writeManagedFile} from './files.ts'
import {ensureObject, labelsDiffer, readObject, requireNamespace, type KubeObject} from './kube-objects.ts'
import {generateJwtSigningKey, generateStorageEncryptionKey, jwtSigningKeyProblem, storageEncryptionKeyProblem} from './keys.ts'
import {KEYS_SECRET_KEYS, OIDC_CLIENT_SECRET_KEYS, keysSecretName, oidcClientSecretName, setupLabels} from './secret-names.ts'
import {SetupInputError, type ChangeLog, type Progress} from './ui.ts'

/** How many retired storage keys a rotation keeps; older ones can no longer decrypt anything kmcp still stores (its TTLs are far shorter than several rotations). */
const MAX_PREVIOUS_STORAGE_KEYS = 3

interface SecretObject extends KubeObject {
  type?: string
  data?: Record<string, string>
}

export interface SecretValues {
  clientSecret?: string
  jwtSigningKey: string
  storageEncryptionKey: string
  previousStorageEncryptionKeys: string[]
}

export interface CreateSecretsOptions {
  kube: KubeClient
  namespace: string
  release: string
  /** Given on the command line / from setup auth0; undefined = keep what is stored, or ask. */
  clientSecret?: string
  /** Called only when the client-secret Secret does not exist yet and none was given. Return undefined to skip it. */
  askClientSecret?: () => Promise<string | undefined>
  jwtSigningKey?: string
  storageEncryptionKey?: string
  rotate: boolean
  dryRun: boolean
  /** Called with a one-line summary before anything is written, only when something will change. */
  confirm: (summary: string) => Promise<void>
  changes: ChangeLog
  progress: Progress
}

export interface CreateSecretsResult {
  namespace: string
  secrets: {oidcClient: string; keys: string}
  /** The values as they are (or would be) stored; shown only with --show-secrets, written with --out-dir. */
  values: SecretValues
}

/** Checks keys given on the command line; throws SetupInputError naming the flag. */
export function validateGivenKeys(given: {jwtSigningKey?: string; storageEncryptionKey?: string}): void {
  const jwtProblem = given.jwtSigningKey !== undefined ? jwtSigningKeyProblem(given.jwtSigningKey) : null
  if (jwtProblem) throw new SetupInputError(`--jwt-signing-key ${jwtProblem}`)
  const storageProblem = given.storageEncryptionKey !== undefined ? storageEncryptionKeyProblem(given.storageEncryptionKey) : null
  if (storageProblem) throw new SetupInputError(`--storage-encryption-key ${storageProblem}`)
}

function decoded(secret: SecretObject | undefined, key: string): string | undefined {
  const raw = secret?.data?.[key]
  return raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8')
}

function encodeData(values: Record<string, string | undefined>): Record<string, string> {
  const data: Record<string, string> = {}
  for (const [key, value] of Object.entries(values)) if (value !== undefined && value !== '') data[key] = Buffer.from(value, 'utf8').toString('base64')
  return data
}

interface KeyPlan {
  values: SecretValues
  /** Data keys that will change, for the report (names only). */
  changedKeys: string[]
}

function planKeys(existing: SecretObject | undefined, options: CreateSecretsOptions): KeyPlan {
  const storedJwt = decoded(existing, KEYS_SECRET_KEYS.jwtSigningKey)
  const storedStorage = decoded(existing, KEYS_SECRET_KEYS.storageEncryptionKey)
  const storedPrevious = (decoded(existing, KEYS_SECRET_KEYS.previousStorageEncryptionKeys) ?? '').split('\n').filter(Boolean)
  const changedKeys: string[] = []
  const refuse = (flag: string, key: string) =>
    new SetupInputError(`Secret ${options.namespace}/${keysSecretName(options.release)} already holds a ${key}; kmcp does not overwrite it (tokens or stored sessions would break). Pass --rotate to replace it (the old storage key stays in the key ring), or drop ${flag}.`)

  let jwtSigningKey: string
  if (options.rotate) {
    jwtSigningKey = options.jwtSigningKey ?? generateJwtSigningKey()
  } else if (storedJwt !== undefined) {
    if (options.jwtSigningKey !== undefined && options.jwtSigningKey !== storedJwt) throw refuse('--jwt-signing-key', KEYS_SECRET_KEYS.jwtSigningKey)
    jwtSigningKey = storedJwt
  } else {
    jwtSigningKey = options.jwtSigningKey ?? generateJwtSigningKey()
  }
  if (jwtSigningKey !== storedJwt) changedKeys.push(KEYS_SECRET_KEYS.jwtSigningKey)

  let storageEncryptionKey: string
  let previous = storedPrevious
  if (options.rotate) {
    storageEncryptionKey = options.storageEncryptionKey ?? generateStorageEncryptionKey()
    if (storedStorage !== undefined && storedStorage !== storageEncryptionKey) {
      previous = [storedStorage, ...storedPrevious.filter((k) => k !== storedStorage && k !== storageEncryptionKey)].slice(0, MAX_PREVIOUS_STORAGE_KEYS)
    }
  } else if (storedStorage !== undefined) {
    if (options.storageEncryptionKey !== undefined && options.storageEncryptionKey !== storedStorage) throw refuse('--storage-encryption-key', KEYS_SECRET_KEYS.storageEncryptionKey)
    storageEncryptionKey = storedStorage
  } else {
    storageEncryptionKey = options.storageEncryptionKey ?? generateStorageEncryptionKey()
  }
  if (storageEncryptionKey !== storedStorage) changedKeys.push(KEYS_SECRET_KEYS.storageEncryptionKey)
  if (previous.join('\n') !== storedPrevious.join('\n')) changedKeys.push(KEYS_SECRET_KEYS.previousStorageEncryptionKeys)
  return {values: {jwtSigningKey, storageEncryptionKey, previousStorageEncryptionKeys: previous}, changedKeys}
}

function secretObject(name: string, options: CreateSecretsOptions, component: string, data: Record<string, string>): SecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {name, namespace: options.namespace, labels: setupLabels(options.release, component)},
    type: 'Opaque',
    data,
  }
}

export async function createSecrets(options: CreateSecretsOptions): Promise<CreateSecretsResult> {
  const {kube, namespace, release, progress} = options
  validateGivenKeys(options)
  const clientName = oidcClientSecretName(release)
  const keysName = keysSecretName(release)
  const collectionPath = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`

  const [storedClient, storedKeys] = await progress.step(`reading the Secrets in namespace ${namespace}`, async () => {
    await requireNamespace(kube, namespace)
    return Promise.all([
      readObject<SecretObject>(kube, `${collectionPath}/${clientName}`, `reading Secret ${namespace}/${clientName}`),
      readObject<SecretObject>(kube, `${collectionPath}/${keysName}`, `reading Secret ${namespace}/${keysName}`),
    ])
  })

  const storedClientSecret = decoded(storedClient, OIDC_CLIENT_SECRET_KEYS.clientSecret)
  let clientSecret = options.clientSecret
  if (clientSecret !== undefined && storedClientSecret !== undefined && clientSecret !== storedClientSecret && !options.rotate) {
    throw new SetupInputError(`Secret ${namespace}/${clientName} already holds a different client secret; kmcp does not overwrite it. Pass --rotate to replace it.`)
  }
  if (clientSecret === undefined && storedClientSecret === undefined) clientSecret = await options.askClientSecret?.()
  clientSecret ??= storedClientSecret

  const keys = planKeys(storedKeys, options)
  const values: SecretValues = {clientSecret, ...keys.values}
  const clientChanges = clientSecret !== undefined && clientSecret !== storedClientSecret
  const keysChange = keys.changedKeys.length > 0 || !storedKeys
  if ((clientChanges || keysChange) && !options.dryRun) {
    const parts = [clientChanges ? `${storedClient ? 'update' : 'create'} ${clientName}` : '', keysChange ? `${storedKeys ? `update ${keysName} (${keys.changedKeys.join(', ')})` : `create ${keysName}`}` : ''].filter(Boolean)
    await options.confirm(`${options.rotate ? 'Rotate' : 'Write'} Secrets in namespace ${namespace}: ${parts.join('; ')}?`)
  }

  const ensure = {kube, changes: options.changes, progress, dryRun: options.dryRun}
  if (clientSecret !== undefined) {
    const desired = secretObject(clientName, options, 'oidc-client', encodeData({[OIDC_CLIENT_SECRET_KEYS.clientSecret]: clientSecret}))
    await ensureObject(ensure, {
      collectionPath,
      desired,
      createdDetail: `key ${OIDC_CLIENT_SECRET_KEYS.clientSecret}`,
      reconcile: (existing) => {
        const valueChanged = decoded(existing, OIDC_CLIENT_SECRET_KEYS.clientSecret) !== clientSecret
        if (!valueChanged && !labelsDiffer(existing.metadata.labels, desired.metadata.labels ?? {})) return null
        return {
          next: {...existing, metadata: {...existing.metadata, labels: {...existing.metadata.labels, ...desired.metadata.labels}}, data: {...existing.data, ...desired.data}},
          detail: valueChanged ? `rotated ${OIDC_CLIENT_SECRET_KEYS.clientSecret}` : 'labels',
        }
      },
    })
  } else {
    options.changes.add({kind: 'Secret', name: clientName, namespace, outcome: 'skipped', detail: 'no client secret given (--client-secret-file)'})
  }

  const keysDesired = secretObject(keysName, options, 'keys', encodeData({
    [KEYS_SECRET_KEYS.jwtSigningKey]: values.jwtSigningKey,
    [KEYS_SECRET_KEYS.storageEncryptionKey]: values.storageEncryptionKey,
    [KEYS_SECRET_KEYS.previousStorageEncryptionKeys]: values.previousStorageEncryptionKeys.join('\n') || undefined,
  }))
  await ensureObject(ensure, {
    collectionPath,
    desired: keysDesired,
    createdDetail: `keys ${KEYS_SECRET_KEYS.jwtSigningKey}, ${KEYS_SECRET_KEYS.storageEncryptionKey}`,
    reconcile: (existing) => {
      if (keys.changedKeys.length === 0 && !labelsDiffer(existing.metadata.labels, keysDesired.metadata.labels ?? {})) return null
      return {
        next: {...existing, metadata: {...existing.metadata, labels: {...existing.metadata.labels, ...keysDesired.metadata.labels}}, data: keysDesired.data},
        detail: keys.changedKeys.length ? `${options.rotate ? 'rotated' : 'added'} ${keys.changedKeys.join(', ')}` : 'labels',
      }
    },
  })
  return {namespace, secrets: {oidcClient: clientName, keys: keysName}, values}
}

/** Writes the values to files named like the Secret keys, mode 0600, in a 0700 directory. */
export async function writeSecretFiles(dir: string, values: SecretValues, changes: ChangeLog): Promise<void> {
  await mkdir(dir, {recursive: true, mode: 0o700})
  const files: Array<[string, string | undefined]> = [
    [OIDC_CLIENT_SECRET_KEYS.clientSecret, values.clientSecret],
    [KEYS_SECRET_KEYS.jwtSigningKey, values.jwtSigningKey],
    [KEYS_SECRET_KEYS.storageEncryptionKey, values.storageEncryptionKey],
    [KEYS_SECRET_KEYS.previousStorageEncryptionKeys, values.previousStorageEncryptionKeys.length ? values.previousStorageEncryptionKeys.join('\n') : undefined],
  ]
  for (const [name, value] of files) {
    if (value !== undefined) await writeManagedFile(join(dir, name), value, {mode: 0o600, changes})
  }
}
