import {existsSync} from 'node:fs'
import type {JSONWebKeySet} from 'jose'
import {LazyKubeClient} from '../k8s/client.ts'
import {localIdentity} from '../tools/registry.ts'
import {configureLogging, log, type LogLevel} from './logger.ts'
import type {ConnectionLimits} from './connection-limits.ts'
import type {HttpAuthLayer} from './http.ts'
import type {SessionLimits} from './sessions.ts'
import type {RedisSettings} from '../storage/redis.ts'
import {serveStdio} from './stdio.ts'
import {PromptBundleError} from './prompts/bundle.ts'
import {configurePrompts} from './prompts/registry.ts'
import {PolicyConfigError, loadPolicyFile, mergePolicy} from './policy-config.ts'
import type {ServerPolicy} from '../tools/policy/modes.ts'
import {validateToolsets} from '../tools/policy/modes.ts'
import {toolsets} from '../tools/index.ts'

export interface ServeOptions {
  transport: 'stdio' | 'http'
  host: string
  port: number
  path: string
  kubeconfig?: string
  context?: string
  logLevel: LogLevel
  insecureNoAuth: boolean
  /** --oidc-config when given; otherwise the default path is used if it exists. */
  oidcConfig?: string
  /** --impersonate: Kubernetes requests carry the signed-in user's identity. */
  impersonate?: boolean
  adminUsers?: string[]
  adminGroups?: string[]
  /** --allowed-hosts / --allowed-origins: names and web origins the HTTP server answers to besides its own. */
  allowedHosts?: string[]
  allowedOrigins?: string[]
  sessionLimits?: Partial<SessionLimits>
  connectionLimits?: Partial<ConnectionLimits>
  /** --prompts / PROMPTS_PATH when given (then it must be a valid bundle); else the default path if present. */
  prompts?: string
  /** Server modes from the flags (--read-only, --namespaces, ...); the config file fills what they leave out. */
  policy?: ServerPolicy
  /** --stateless (HTTP): no sessions, a fresh MCP server per request; see stateless-endpoint.ts. */
  stateless?: boolean
}

const DEFAULT_OIDC_CONFIG = '/etc/mcp/oidc.yaml'
/** SIGTERM/SIGINT: how long calls in flight may still finish; the process is gone within 1 s. */
const DRAIN_MS = 500
const EXIT_DEADLINE_MS = 800

/**
 * Resolves with the signal's name on the first SIGTERM or SIGINT, and from then on guarantees the
 * process ends within EXIT_DEADLINE_MS even if closing something hangs. A second signal kills it.
 */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop)
      process.off('SIGINT', stop)
      setTimeout(() => {
        log.error(`shutdown after ${signal} took longer than ${EXIT_DEADLINE_MS} ms; exiting anyway`)
        process.exit(1)
      }, EXIT_DEADLINE_MS).unref()
      resolve(signal)
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}

/** Thrown for a configuration the server refuses to start with; the message says what to do. */
export class ServeConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ServeConfigError'
  }
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** Decides how HTTP requests are authenticated; refuses an open server on a reachable address. */
async function httpAuthLayer(options: ServeOptions, kube: LazyKubeClient): Promise<(HttpAuthLayer & {config?: {redis?: RedisSettings}}) | undefined> {
  if (options.insecureNoAuth) {
    if (options.impersonate) throw new ServeConfigError('--impersonate needs authentication (the signed-in user is who kmcp impersonates); remove --insecure-no-auth and configure --oidc-config.')
    if (!isLoopbackHost(options.host)) log.warn(`authentication is OFF (--insecure-no-auth) on ${options.host}: anyone who can reach this port can act with kmcp's Kubernetes rights`)
    return undefined
  }
  const loopback = isLoopbackHost(options.host)
  // Auth is on when it is configured (explicitly, by the default file, or by OIDC_ISSUER), and
  // always on a reachable address; loopback without any configuration stays open for development.
  const configured = options.oidcConfig !== undefined || existsSync(DEFAULT_OIDC_CONFIG) || Boolean(process.env.OIDC_ISSUER)
  if (!configured) {
    if (options.impersonate) throw new ServeConfigError(`--impersonate needs authentication: pass --oidc-config (default ${DEFAULT_OIDC_CONFIG}, not present) or set OIDC_ISSUER and the other settings in docs/auth.md.`)
    if (loopback) return undefined
    throw new ServeConfigError(
      `refusing to serve HTTP on ${options.host} without authentication: anyone who can reach it could manage your PostgreSQL clusters with kmcp's Kubernetes rights. ` +
        `Configure OAuth with --oidc-config (default ${DEFAULT_OIDC_CONFIG}, not present; see docs/auth.md), listen on loopback (--host 127.0.0.1) for local use, ` +
        'or pass --insecure-no-auth if something in front of kmcp already authenticates every request.',
    )
  }
  // Loaded on demand: stdio and unauthenticated HTTP never load jose or ioredis.
  const {createAuthLayer, AuthConfigError} = await import('../auth/index.ts')
  try {
    return await createAuthLayer({
      configPath: options.oidcConfig ?? DEFAULT_OIDC_CONFIG,
      configExplicit: options.oidcConfig !== undefined,
      loopback,
      mcpPath: options.path,
      impersonate: options.impersonate ?? false,
      adminUsers: options.adminUsers,
      adminGroups: options.adminGroups,
      kubernetesJwks: async () => (await kube.get()).request<JSONWebKeySet>({method: 'GET', path: '/openid/v1/jwks', accept: 'application/jwk-set+json'}),
    })
  } catch (error) {
    if (error instanceof AuthConfigError) throw new ServeConfigError(`authentication is not configured correctly: ${error.message}`)
    throw error
  }
}

/**
 * Redis from the environment when authentication is off (with auth on, the OAuth configuration
 * already read it): the same variables and URL forms. Loaded on demand, so that a server without
 * Redis never loads ioredis.
 */
async function redisFromEnvironment(): Promise<RedisSettings | undefined> {
  if (!process.env.REDIS_URL && !process.env.REDIS_HOST) return undefined
  const [{redisSettingsFromEnvironment}, {AuthConfigError}] = await Promise.all([import('../auth/redis-config.ts'), import('../auth/config-error.ts')])
  try {
    return redisSettingsFromEnvironment(process.env)
  } catch (error) {
    if (error instanceof AuthConfigError) throw new ServeConfigError(error.message)
    throw error
  }
}

/** The server modes: flags first, then the configuration file (oidc.yaml), checked before serving. */
function resolvePolicy(options: ServeOptions): {policy: ServerPolicy; scopeGroups?: Record<string, string[]>} {
  let file
  try {
    file = loadPolicyFile(options.oidcConfig ?? (existsSync(DEFAULT_OIDC_CONFIG) ? DEFAULT_OIDC_CONFIG : undefined))
  } catch (error) {
    if (error instanceof PolicyConfigError) throw new ServeConfigError(error.message)
    throw error
  }
  const policy = mergePolicy(options.policy ?? {}, file)
  const problem = validateToolsets(policy, toolsets)
  if (problem) throw new ServeConfigError(`--toolsets: ${problem}`)
  for (const namespace of policy.namespaces ?? []) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) throw new ServeConfigError(`--namespaces: "${namespace}" is not a valid namespace name`)
  }
  const modes = Object.entries(policy).map(([key, value]) => (value === true ? key : `${key}=${(value as string[]).join(',')}`))
  if (modes.length > 0) log.info(`server modes: ${modes.join('; ')}`)
  return {policy, scopeGroups: file.scopeGroups}
}

/** Runs `kmcp serve` until it is told to stop (stdio: or stdin closes); the caller then exits the process. */
export async function serve(options: ServeOptions): Promise<void> {
  configureLogging({level: options.logLevel})
  try {
    configurePrompts({path: options.prompts || undefined, explicit: Boolean(options.prompts), watch: true})
  } catch (error) {
    if (error instanceof PromptBundleError) throw new ServeConfigError(`${error.message}. Fix the file, or omit --prompts/PROMPTS_PATH to serve only the built-in prompts.`)
    throw error
  }
  const {policy, scopeGroups} = resolvePolicy(options)
  const kube = new LazyKubeClient({kubeconfig: options.kubeconfig, context: options.context})
  if (options.stateless && options.transport !== 'http') throw new ServeConfigError('--stateless applies to --transport http only (stdio is one session per process anyway).')
  const stopped = stopSignal()
  if (options.transport === 'stdio') {
    // Logged as over HTTP: the drain starts now (tests wait for this line to know it has).
    const draining = stopped.then((signal) => {
      log.info(`${signal} received: draining in-flight requests`)
      return signal
    })
    await serveStdio(kube, draining, DRAIN_MS, policy)
    return
  }
  for (const origin of options.allowedOrigins ?? []) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin.replace(/\/+$/, '')) throw new ServeConfigError(`--allowed-origins: ${JSON.stringify(origin)} is not a web origin; write scheme://host[:port], e.g. https://app.example.com`)
  }
  const auth = await httpAuthLayer(options, kube)
  const {serveHttp} = await import('./http.ts')
  // MCP sessions go to Redis whenever one is configured (oidc.yaml `redis`, or REDIS_URL with auth on or off).
  const redis = auth?.config?.redis ?? (await redisFromEnvironment())
  const running = await serveHttp({
    host: options.host,
    port: options.port,
    path: options.path,
    kube,
    auth,
    policy,
    scopeGroups,
    anonymousIdentity: {...localIdentity(), transport: 'http'},
    drainTimeoutMs: DRAIN_MS,
    allowedHosts: options.allowedHosts,
    allowedOrigins: options.allowedOrigins,
    sessionLimits: options.sessionLimits,
    connectionLimits: options.connectionLimits,
    redis,
    stateless: options.stateless,
  })
  const sessions = options.stateless ? 'none (stateless)' : running.sharedSessions ? `in redis, replica ${running.replicaId}` : 'in memory'
  log.info(`MCP server listening on ${running.url} (Streamable HTTP; health: /healthz, readiness: /readyz; authentication ${auth ? 'on' : 'off'}; sessions ${sessions})`)
  const signal = await stopped
  log.info(`${signal} received: draining in-flight requests`)
  await running.shutdown()
  log.info('stopped')
}
