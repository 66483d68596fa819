import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {log} from '../server/logger.ts'

/**
 * The Python reference mounted one Secret at /etc/mcp/secrets/auth0 with kebab-case keys. kmcp
 * still reads a secret from there when nothing else names it, and says in the log how to move to
 * its own layout (docs/migrating.md), so an upgraded release starts with its old Secret.
 */
export const REFERENCE_SECRETS_DIR = '/etc/mcp/secrets/auth0'

/** oidc.yaml secret key → the reference Secret's data key. */
const REFERENCE_KEY_NAMES: Record<string, string> = {
  jwt_signing_key: 'jwt-signing-key',
  storage_encryption_key: 'storage-encryption-key',
  client_secret: 'server-client-secret',
}

/** The secret `key` from the reference's mount, when present there; logs the deprecation once per key. */
export function referenceSecret(key: string, env: NodeJS.ProcessEnv): {value: string; from: string} | undefined {
  const name = REFERENCE_KEY_NAMES[key]
  if (!name) return undefined
  // Its chart mounted the Secret at /etc/mcp/secrets/auth0 or, in earlier versions, /etc/mcp/secrets.
  const dirs = env.KMCP_REFERENCE_SECRETS_DIR ? [env.KMCP_REFERENCE_SECRETS_DIR] : [REFERENCE_SECRETS_DIR, '/etc/mcp/secrets']
  const file = dirs.map((dir) => join(dir, name)).find((path) => existsSync(path))
  if (!file) return undefined
  const value = readFileSync(file, 'utf8').trim()
  if (!value) return undefined
  log.warn(`deprecated: ${key} read from ${file}, the Python reference's Secret layout; run \`kmcp secrets create\` (or set ${key}_file) and remove that mount. See docs/migrating.md.`, {key, file})
  return {value, from: `${file} (the reference's ${name})`}
}
