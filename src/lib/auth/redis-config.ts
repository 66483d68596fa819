// Redis settings from oidc.yaml's `redis` section and the REDIS_* environment variables: one reader for
// the OAuth storage and for MCP sessions (also when authentication is off).
import {readFileSync} from 'node:fs'
import type {RedisSettings} from '../storage/redis.ts'
import {RedisUrlError, parseRedisUrl} from '../storage/redis-topology.ts'
import {AuthConfigError} from './config-error.ts'

/** Redis from REDIS_URL / REDIS_HOST, REDIS_PASSWORD_FILE… alone (no oidc.yaml): MCP sessions when authentication is off. */
export function redisSettingsFromEnvironment(env: NodeJS.ProcessEnv): RedisSettings | undefined {
  return redisSettings({}, env, 'the environment')
}

export function redisSettings(yaml: Record<string, unknown>, env: NodeJS.ProcessEnv, path: string): RedisSettings | undefined {
  const section = yaml.redis
  if (section !== undefined && section !== null && (typeof section !== 'object' || Array.isArray(section))) {
    throw new AuthConfigError(`\`redis\` in ${path} must be a mapping (url, host, port, db, password_file, sentinel_password_file).`)
  }
  const r = (section ?? {}) as Record<string, unknown>
  const str = (value: unknown): string | undefined => (value === undefined || value === null || value === '' ? undefined : String(value))
  const int = (key: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined
    const n = Number(value)
    if (!Number.isInteger(n) || n < 0) throw new AuthConfigError(`\`redis.${key}\` must be a whole number (got ${value}).`)
    return n
  }
  const url = str(r.url) ?? env.REDIS_URL
  const host = str(r.host) ?? env.REDIS_HOST
  if (!url && !host) return undefined
  if (url) {
    try {
      parseRedisUrl(url)
    } catch (error) {
      if (error instanceof RedisUrlError) throw new AuthConfigError(`\`redis.url\` / REDIS_URL: ${error.message}.`)
      throw error
    }
  }
  let password = str(r.password) ?? env.REDIS_PASSWORD
  const passwordFile = str(r.password_file) ?? env.REDIS_PASSWORD_FILE
  if (passwordFile) {
    try {
      password = readFileSync(passwordFile, 'utf8').trim()
    } catch (error) {
      throw new AuthConfigError(`cannot read ${passwordFile} (\`redis.password_file\` / REDIS_PASSWORD_FILE): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`)
    }
  }
  const sentinelPasswordFile = str(r.sentinel_password_file) ?? env.REDIS_SENTINEL_PASSWORD_FILE
  let sentinelPassword: string | undefined
  if (sentinelPasswordFile) {
    try {
      sentinelPassword = readFileSync(sentinelPasswordFile, 'utf8').trim()
    } catch (error) {
      throw new AuthConfigError(`cannot read ${sentinelPasswordFile} (\`redis.sentinel_password_file\` / REDIS_SENTINEL_PASSWORD_FILE): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`)
    }
  }
  return {url, host, port: int('port', str(r.port) ?? env.REDIS_PORT), db: int('db', str(r.db) ?? env.REDIS_DB), password, ...(sentinelPassword ? {sentinelPassword} : {})}
}
