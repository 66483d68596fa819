/**
 * The Kubernetes Secrets that `kmcp secrets create` writes and the Helm chart (chart/) mounts.
 * This file is the agreement between the two: the chart engineer reads these names, and the
 * oidc.yaml written by `kmcp setup auth0` points at the mount paths below. Change them only
 * together with chart/templates.
 *
 * Names are derived from the Helm release name, so two releases in one namespace never share
 * a Secret. Data keys use snake_case so they match the oidc.yaml keys that read them.
 */

/** Secret holding the upstream OAuth client secret (Auth0 or any OIDC provider). Type Opaque. */
export function oidcClientSecretName(release: string): string {
  return `${release}-oidc-client`
}

/** Secret holding kmcp's own keys: JWT signing key and storage encryption key ring. Type Opaque. */
export function keysSecretName(release: string): string {
  return `${release}-keys`
}

/** Data keys inside `<release>-oidc-client`. */
export const OIDC_CLIENT_SECRET_KEYS = {
  /** The upstream client secret, as issued by the identity provider. */
  clientSecret: 'client_secret',
} as const

/** Data keys inside `<release>-keys`. */
export const KEYS_SECRET_KEYS = {
  /** 256-bit HS256 signing key for kmcp's own access tokens: 64 lower-case hex characters. */
  jwtSigningKey: 'jwt_signing_key',
  /** Current storage encryption key: a Fernet-format key (url-safe base64 of 32 random bytes, 44 chars). */
  storageEncryptionKey: 'storage_encryption_key',
  /**
   * Older storage keys still accepted for decryption after `kmcp secrets create --rotate`,
   * newest first, one per line. Absent until the first rotation. Encrypt with the current key,
   * try the current key then these on decrypt, so sessions stored before a rotation survive.
   */
  previousStorageEncryptionKeys: 'previous_storage_encryption_keys',
} as const

/** Where the chart mounts the two Secrets in the kmcp container (read-only). */
export const SECRET_MOUNT_PATHS = {
  oidcClient: '/etc/mcp/secrets/oidc',
  keys: '/etc/mcp/secrets/keys',
} as const

/** Where the chart mounts the oidc.yaml ConfigMap, and the file name inside it. */
export const OIDC_CONFIG_MOUNT = {dir: '/etc/mcp', file: 'oidc.yaml'} as const

/** Labels put on every object kmcp's set-up commands create, so they can be found and removed. */
export function setupLabels(release: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'kmcp',
    'app.kubernetes.io/instance': release,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/managed-by': 'kmcp',
  }
}
