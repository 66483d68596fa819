import type {JSONWebKeySet} from 'jose'
import type {HttpAuthLayer} from '../server/http.ts'
import {EncryptedStore} from '../storage/encrypted.ts'
import type {KeyValueStore} from '../storage/kv.ts'
import {MemoryStore} from '../storage/memory.ts'
import {log} from '../server/logger.ts'
import {loadAuthConfig, type AuthConfig} from './config.ts'
import {OAuthFacade} from './facade.ts'
import {UpstreamProvider} from './upstream.ts'

export {AuthConfigError} from './config.ts'

export interface AuthLayerOptions {
  /** --oidc-config or the default path (which may be absent when the environment has everything). */
  configPath: string
  configExplicit: boolean
  /** The server listens on loopback only. */
  loopback: boolean
  mcpPath: string
  impersonate: boolean
  adminUsers?: string[]
  adminGroups?: string[]
  /** Reads the cluster's service-account issuer keys (/openid/v1/jwks) for jwks_from_kubernetes. */
  kubernetesJwks?: () => Promise<JSONWebKeySet>
}

/**
 * Builds the HTTP authentication layer: reads and checks the configuration (throws
 * AuthConfigError with a message naming the key), connects storage, and returns the hooks
 * serveHttp calls. Loaded with a dynamic import so stdio start-up never pays for jose or ioredis.
 */
export async function createAuthLayer(options: AuthLayerOptions): Promise<HttpAuthLayer & {config: AuthConfig}> {
  const config = loadAuthConfig({path: options.configPath, explicit: options.configExplicit, loopback: options.loopback, adminUsers: options.adminUsers, adminGroups: options.adminGroups})
  let backend: KeyValueStore
  if (config.redis) {
    const {RedisStore} = await import('../storage/redis.ts')
    backend = new RedisStore(config.redis)
  } else {
    log.warn('no Redis configured: OAuth clients and tokens are kept in memory (loopback development only; lost on restart, not shared between replicas)')
    backend = new MemoryStore()
  }
  const store = new EncryptedStore(backend, config.storageKeys)
  const upstream = new UpstreamProvider(config)
  const facade = new OAuthFacade({config, store, upstream, mcpPath: options.mcpPath, impersonate: options.impersonate, kubernetesJwks: options.kubernetesJwks})
  log.info('OAuth authorization enabled', {
    provider: config.authType,
    issuer: config.issuer,
    public_url: config.publicUrl,
    resource: facade.resource,
    storage: config.redis ? 'redis' : 'memory',
    impersonate: options.impersonate,
    config: config.source,
  })
  return {
    config,
    publicUrl: config.publicUrl,
    handleRoute: (req, res, url) => facade.handleRoute(req, res, url),
    authenticate: (req, res) => facade.authenticate(req, res),
    readinessChecks: [
      {name: config.redis ? 'redis' : 'token-storage', check: () => store.ping()},
      {name: 'identity-provider', check: async () => void (await upstream.metadata())},
    ],
    close: () => store.close(),
  }
}
