import type {KubeClient} from '../../k8s/client.ts'
import {KubeApiError, describeKubeError} from '../../k8s/errors.ts'
import type {ObjectMeta} from '../cnpg/api.ts'
import {ToolError} from '../errors.ts'

/**
 * Role password Secrets. kmcp marks the Secrets it creates with two labels and only ever
 * changes or deletes Secrets carrying both: a Secret someone else made under the same name is
 * used as it is or refused, never overwritten or removed. Passwords never leave this module
 * except into a Secret body or, on explicit request, get_connection_info's result.
 */

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by'
export const MANAGED_BY_KMCP = 'kmcp'
/** Says what a kmcp-made Secret is for; other kmcp Secrets (e.g. the chart's) differ. */
export const SECRET_PURPOSE_LABEL = 'kmcp.io/secret-purpose'
export const ROLE_PASSWORD_PURPOSE = 'role-password'
/** Label selector for every role password Secret kmcp created (used when deleting a cluster). */
export const KMCP_ROLE_SECRET_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_KMCP},${SECRET_PURPOSE_LABEL}=${ROLE_PASSWORD_PURPOSE}`

/**
 * CNPG applies a changed password at once only for Secrets carrying this label (its DatabaseRole
 * controller watches just those); without it a rotation waits for an unrelated reconciliation.
 */
export const CNPG_RELOAD_LABEL = 'cnpg.io/reload'

export interface Secret {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  type?: string
  data?: Record<string, string>
}

const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** 32 characters from a CSPRNG (about 190 bits), alphanumeric so it needs no quoting in URIs. */
export function generatePassword(length = 32): string {
  // node:crypto is loaded here, not at start-up (its module costs a few ms of every start).
  const {randomInt} = process.getBuiltinModule('node:crypto')
  let password = ''
  for (let i = 0; i < length; i++) password += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]
  return password
}

export function isKmcpRoleSecret(secret: Secret): boolean {
  const labels = secret.metadata.labels ?? {}
  return labels[MANAGED_BY_LABEL] === MANAGED_BY_KMCP && labels[SECRET_PURPOSE_LABEL] === ROLE_PASSWORD_PURPOSE
}

function secretPath(namespace: string, name?: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets${name ? `/${encodeURIComponent(name)}` : ''}`
}

/** Kubernetes errors on Secrets, with advice about Secret permissions rather than CNPG ones. */
function secretError(error: unknown, action: string, verb: 'get' | 'create' | 'patch' | 'delete'): ToolError {
  if (error instanceof ToolError) return error
  if (error instanceof KubeApiError && error.status === 403) {
    return new ToolError(
      `Kubernetes API error 403 Forbidden while ${action}: ${error.message}\nWhat to do: role passwords live in Secrets, and the identity kmcp uses may not ${verb} Secrets in this namespace. Ask a cluster admin for get/create/patch/delete on secrets there (kmcp rbac setup grants it), or use disable_password=true for a role without a password.`,
    )
  }
  return new ToolError(describeKubeError(error, action))
}

/** The Secret, or undefined when it does not exist. */
export async function readSecret(kube: KubeClient, namespace: string, name: string, signal: AbortSignal): Promise<Secret | undefined> {
  try {
    return await kube.request<Secret>({method: 'GET', path: secretPath(namespace, name), signal})
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return undefined
    throw secretError(error, `reading Secret ${namespace}/${name}`, 'get')
  }
}

/** A foreign Secret can serve as a role's password Secret only in CNPG's basic-auth format. */
export function foreignSecretProblem(secret: Secret, role: string): string | undefined {
  if (secret.type !== 'kubernetes.io/basic-auth') return `it has type "${secret.type ?? 'Opaque'}", not kubernetes.io/basic-auth`
  if (!secret.data?.username || !secret.data?.password) return 'it lacks a "username" or "password" key'
  if (Buffer.from(secret.data.username, 'base64').toString('utf8') !== role) return `its username is not "${role}"`
  return undefined
}

function roleSecretBody(namespace: string, name: string, cluster: string, role: string, password: string): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY_KMCP,
        [SECRET_PURPOSE_LABEL]: ROLE_PASSWORD_PURPOSE,
        'app.kubernetes.io/name': 'cnpg',
        'cnpg.io/cluster': cluster,
        'cnpg.io/role': role,
        [CNPG_RELOAD_LABEL]: 'true',
      },
    },
    type: 'kubernetes.io/basic-auth',
    data: {username: Buffer.from(role).toString('base64'), password: Buffer.from(password).toString('base64')},
  }
}

/** Creates a kmcp role Secret; a 409 means someone created one meanwhile and is reported. */
export async function createRoleSecret(
  kube: KubeClient,
  target: {namespace: string; name: string; cluster: string; role: string},
  password: string,
  signal: AbortSignal,
): Promise<Secret> {
  try {
    return await kube.request<Secret>({
      method: 'POST',
      path: secretPath(target.namespace),
      query: {fieldManager: 'kmcp'},
      body: roleSecretBody(target.namespace, target.name, target.cluster, target.role, password),
      signal,
    })
  } catch (error) {
    throw secretError(error, `creating Secret ${target.namespace}/${target.name}`, 'create')
  }
}

/**
 * Sets the password in a Secret kmcp created, guarded by its resourceVersion; on a concurrent
 * change it reads the Secret again, checks it is still kmcp's, and retries. Returns the Secret
 * as it was before (to restore it if a later step fails).
 */
export async function replaceRolePassword(kube: KubeClient, namespace: string, name: string, role: string, password: string, signal: AbortSignal): Promise<{before: Secret; after: Secret}> {
  for (let attempt = 1; ; attempt++) {
    const before = await readSecret(kube, namespace, name, signal)
    if (!before) throw new ToolError(`Secret ${namespace}/${name} disappeared while its password was being changed; run the update again.`)
    if (!isKmcpRoleSecret(before)) throw new ToolError(foreignSecretRefusal(namespace, name))
    try {
      const after = await kube.request<Secret>({
        method: 'PATCH',
        path: secretPath(namespace, name),
        contentType: 'application/merge-patch+json',
        query: {fieldManager: 'kmcp'},
        body: {metadata: {resourceVersion: before.metadata.resourceVersion, labels: {[CNPG_RELOAD_LABEL]: 'true'}}, data: {username: Buffer.from(role).toString('base64'), password: Buffer.from(password).toString('base64')}},
        signal,
      })
      return {before, after}
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409 && attempt < 4) continue
      throw secretError(error, `updating Secret ${namespace}/${name}`, 'patch')
    }
  }
}

/** Puts back the data of a Secret kmcp changed (best effort; used to undo a failed update). */
export async function restoreSecretData(kube: KubeClient, previous: Secret, signal: AbortSignal): Promise<boolean> {
  try {
    await kube.request({
      method: 'PATCH',
      path: secretPath(previous.metadata.namespace ?? '', previous.metadata.name),
      contentType: 'application/merge-patch+json',
      query: {fieldManager: 'kmcp'},
      body: {data: previous.data ?? {}},
      signal,
    })
    return true
  } catch {
    return false
  }
}

/**
 * Deletes a Secret only if it is kmcp's; with `uid`, only that exact object (a Secret
 * re-created under the same name by someone else meanwhile survives).
 */
export async function deleteKmcpSecret(kube: KubeClient, namespace: string, name: string, signal: AbortSignal, uid?: string): Promise<'deleted' | 'absent' | 'foreign'> {
  let expectedUid = uid
  if (!expectedUid) {
    const current = await readSecret(kube, namespace, name, signal)
    if (!current) return 'absent'
    if (!isKmcpRoleSecret(current)) return 'foreign'
    expectedUid = current.metadata.uid
  }
  try {
    await kube.request({
      method: 'DELETE',
      path: secretPath(namespace, name),
      body: {apiVersion: 'v1', kind: 'DeleteOptions', preconditions: {uid: expectedUid}},
      signal,
    })
    return 'deleted'
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return 'absent'
    if (error instanceof KubeApiError && error.status === 409) return 'foreign'
    throw secretError(error, `deleting Secret ${namespace}/${name}`, 'delete')
  }
}

export function foreignSecretRefusal(namespace: string, name: string): string {
  return `Secret ${namespace}/${name} was not created by kmcp (it lacks the labels ${MANAGED_BY_LABEL}=${MANAGED_BY_KMCP} and ${SECRET_PURPOSE_LABEL}=${ROLE_PASSWORD_PURPOSE}), so kmcp will not change or delete it. Change it with kubectl yourself, or point the role at another Secret.`
}

export function kubectlReadPasswordCommand(namespace: string, secretName: string): string {
  return `kubectl get secret ${secretName} -n ${namespace} -o jsonpath='{.data.password}' | base64 -d`
}
