import {Cluster, Redis, type ClusterOptions, type RedisOptions} from 'ioredis'

/**
 * Which Redis a URL names. Besides the usual redis:// and rediss:// (one server), kmcp accepts a
 * highly available Redis or Valkey, as ioredis supports it:
 *   redis+sentinel://sentinel-1:26379,sentinel-2:26379/<master name>[/<db>]   (Sentinel)
 *   redis+cluster://node-1:6379,node-2:6379                                  (Cluster; db 0 only)
 * with rediss+sentinel:// and rediss+cluster:// for TLS. Port defaults: 26379 for sentinels, 6379
 * otherwise. Credentials never go in the URL (password_file / REDIS_PASSWORD_FILE).
 */
export type RedisTopology =
  | {kind: 'standalone'; url: string}
  | {kind: 'sentinel'; sentinels: HostPort[]; masterName: string; db?: number; tls: boolean}
  | {kind: 'cluster'; nodes: HostPort[]; tls: boolean}

export interface HostPort {
  host: string
  port: number
}

/** A Redis URL kmcp cannot use; the message says what to write instead. */
export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RedisUrlError'
  }
}

export const REDIS_URL_FORMS = 'redis://host:6379/0, rediss://…, redis+sentinel://sentinel-1:26379,sentinel-2:26379/<master name>[/<db>] or redis+cluster://node-1:6379,node-2:6379 (rediss+… for TLS)'

export function parseRedisUrl(url: string): RedisTopology {
  const match = /^(rediss?)(?:\+(sentinel|cluster))?:\/\/([^/?#]*)([^?#]*)$/.exec(url)
  if (!match) throw new RedisUrlError(`not a Redis URL kmcp understands (got a value starting ${JSON.stringify(url.slice(0, 12))}); write ${REDIS_URL_FORMS}`)
  const [, scheme, mode, authority, path] = match
  if (!mode) return {kind: 'standalone', url}
  if (authority.includes('@')) throw new RedisUrlError(`the ${scheme}+${mode} URL must not contain credentials: give the password through password_file / REDIS_PASSWORD_FILE`)
  const defaultPort = mode === 'sentinel' ? 26379 : 6379
  if (authority.trim() === '') throw new RedisUrlError(`${scheme}+${mode}:// needs at least one host:port, e.g. ${mode === 'sentinel' ? 'redis+sentinel://sentinel-1:26379/mymaster' : 'redis+cluster://node-1:6379,node-2:6379'}`)
  const hosts = authority.split(',').map((part) => hostPort(part.trim(), defaultPort, url))
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent)
  const tls = scheme === 'rediss'
  if (mode === 'cluster') {
    if (segments.length > 0) throw new RedisUrlError('a Redis Cluster has only database 0: write redis+cluster://node-1:6379,node-2:6379 without a path')
    return {kind: 'cluster', nodes: hosts, tls}
  }
  const [masterName, db, ...rest] = segments
  if (!masterName || rest.length > 0) throw new RedisUrlError('a Sentinel URL names the master after the hosts: redis+sentinel://sentinel-1:26379,sentinel-2:26379/mymaster[/db]')
  if (db !== undefined && !/^\d+$/.test(db)) throw new RedisUrlError(`the database in a Sentinel URL must be a whole number (got ${JSON.stringify(db)})`)
  return {kind: 'sentinel', sentinels: hosts, masterName, ...(db !== undefined ? {db: Number(db)} : {}), tls}
}

function hostPort(part: string, defaultPort: number, url: string): HostPort {
  const match = /^(\[[^\]]+\]|[^:\s]+)(?::(\d+))?$/.exec(part)
  if (!match) throw new RedisUrlError(`${JSON.stringify(part)} in ${JSON.stringify(url.slice(0, 80))} is not host or host:port`)
  const port = match[2] === undefined ? defaultPort : Number(match[2])
  if (port < 1 || port > 65535) throw new RedisUrlError(`port ${port} in ${JSON.stringify(part)} is out of range`)
  return {host: match[1].replace(/^\[|\]$/g, ''), port}
}

export interface RedisConnectionSettings {
  url?: string
  host?: string
  port?: number
  db?: number
  password?: string
  username?: string
  /** Password of the sentinels themselves, when they require one (sentinel_password_file). */
  sentinelPassword?: string
}

/** The ioredis client for these settings: one server, a Sentinel-managed master, or a Cluster. */
export function createRedisClient(settings: RedisConnectionSettings, base: RedisOptions): Redis | Cluster {
  const auth: RedisOptions = {
    ...(settings.password ? {password: settings.password} : {}),
    ...(settings.username ? {username: settings.username} : {}),
  }
  const topology = settings.url ? parseRedisUrl(settings.url) : undefined
  if (!topology || topology.kind === 'standalone') {
    const options: RedisOptions = {
      ...base,
      ...auth,
      ...(settings.host ? {host: settings.host} : {}),
      ...(settings.port ? {port: settings.port} : {}),
      ...(settings.db !== undefined ? {db: settings.db} : {}),
    }
    return topology ? new Redis(topology.url, options) : new Redis(options)
  }
  if (topology.kind === 'sentinel') return new Redis(sentinelOptions(topology, settings, base))
  const {nodes, options} = clusterOptions(topology, settings, base)
  return new Cluster(nodes, options)
}

/** ioredis options for a master found through Sentinel (exported for the unit tests). */
export function sentinelOptions(topology: Extract<RedisTopology, {kind: 'sentinel'}>, settings: RedisConnectionSettings, base: RedisOptions): RedisOptions {
  const db = topology.db ?? settings.db
  return {
    ...base,
    ...(settings.password ? {password: settings.password} : {}),
    ...(settings.username ? {username: settings.username} : {}),
    sentinels: topology.sentinels,
    name: topology.masterName,
    role: 'master',
    ...(db !== undefined ? {db} : {}),
    ...(settings.sentinelPassword ? {sentinelPassword: settings.sentinelPassword} : {}),
    ...(topology.tls ? {tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true} : {}),
    // Keep asking the sentinels for the (possibly new) master while they fail over, and follow a
    // failover at once (+switch-master) instead of writing to the old master until it steps down.
    sentinelRetryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
    failoverDetector: true,
  }
}

/** ioredis Cluster start nodes and options (exported for the unit tests). */
export function clusterOptions(topology: Extract<RedisTopology, {kind: 'cluster'}>, settings: RedisConnectionSettings, base: RedisOptions): {nodes: HostPort[]; options: ClusterOptions} {
  const {retryStrategy, enableOfflineQueue, ...perNode} = base
  return {
    nodes: topology.nodes,
    options: {
      enableOfflineQueue,
      clusterRetryStrategy: retryStrategy ? (attempt: number) => retryStrategy(attempt) ?? null : undefined,
      redisOptions: {
        ...perNode,
        ...(settings.password ? {password: settings.password} : {}),
        ...(settings.username ? {username: settings.username} : {}),
        ...(topology.tls ? {tls: {}} : {}),
      },
    },
  }
}
