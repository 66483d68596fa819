/**
 * `kmcp setup auth0`: configures an Auth0 tenant for kmcp's HTTP mode through the Management
 * API (the `auth0` SDK's ManagementClient). Every object is looked up first (the API by its
 * identifier, applications by name, grants by client and audience) and then created, updated or
 * left alone, so re-running converges instead of duplicating, including after a failure midway.
 */
import type {ManagementClient} from 'auth0'
import {SetupFailure} from './command-support.ts'
import type {ChangeLog, Progress} from './ui.ts'

export const MCP_SCOPES = [
  {value: 'mcp:read', description: 'Read PostgreSQL clusters, roles and databases through kmcp'},
  {value: 'mcp:write', description: 'Create, change and delete PostgreSQL clusters, roles and databases through kmcp'},
] as const

export type Auth0Credentials = {token: string} | {clientId: string; clientSecret: string}

export interface Auth0SetupOptions {
  domain: string
  credentials: Auth0Credentials
  /** kmcp's public base URL, e.g. https://kmcp.example.com (the callback is <publicUrl>/auth/callback). */
  publicUrl: string
  /** Identifier of the Auth0 API kmcp asks tokens for (default <publicUrl>/mcp). */
  audience: string
  /** Prefix of every object name in the tenant, e.g. "kmcp" → "kmcp API", "kmcp server". */
  name: string
  testClient: boolean
  /** Pattern B: MCP clients register with Auth0 directly (tenant DCR flag, domain-level connections). */
  enableDcr: boolean
  /** Connection names to promote to domain level (with enableDcr). */
  connections: string[]
  /** Whether the server client's secret must be fetched when the client already exists. */
  needClientSecret: boolean
  dryRun: boolean
  changes: ChangeLog
  progress: Progress
}

export interface Auth0SetupResult {
  domain: string
  issuer: string
  audience: string
  publicUrl: string
  apiName: string
  serverClient: {name: string; clientId?: string; clientSecret?: string}
  testClient?: {name: string; clientId?: string}
  dcrEnabled: boolean
  connectionsPromoted: string[]
}

/** Management API scopes the chosen set-up needs; listed in the message for a 401/403. */
export function requiredManagementScopes(options: Pick<Auth0SetupOptions, 'enableDcr' | 'needClientSecret'>): string[] {
  const scopes = [
    'read:resource_servers', 'create:resource_servers', 'update:resource_servers',
    'read:clients', 'create:clients', 'update:clients',
    'read:client_grants', 'create:client_grants', 'update:client_grants',
  ]
  if (options.needClientSecret) scopes.push('read:client_keys')
  if (options.enableDcr) scopes.push('read:tenant_settings', 'update:tenant_settings', 'read:connections', 'update:connections')
  return scopes
}

/** The tenant's issuer as Auth0 writes it in tokens (with the trailing slash). */
export function issuerFor(domain: string): string {
  return `https://${domain}/`
}

/** A bare host name (optionally with a port), as the SDK requires; accepts a pasted URL. */
export function normaliseDomain(value: string): string {
  return value.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '')
}

export function domainProblem(value: string): string | true {
  const domain = normaliseDomain(value)
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(domain)) return `"${value}" is not a domain name like your-tenant.us.auth0.com`
  return true
}

/** https only; http is accepted for loopback addresses (local development and tests). */
export function publicUrlProblem(value: string): string | true {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return `"${value}" is not a URL; give kmcp's public base URL, e.g. https://kmcp.example.com`
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return 'must use https:// (http:// only for localhost / 127.0.0.1)'
  if (url.search || url.hash) return 'must not have a query or fragment'
  return true
}

// ---------------------------------------------------------------------------------------------
// Errors

interface ManagementErrorShape {
  statusCode?: number
  body?: unknown
  message: string
  cause?: unknown
}

/** The innermost error code (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET, ...) or message of a failed request. */
function networkCause(error: unknown): string | undefined {
  let current: unknown = error
  let innermost: string | undefined
  for (let depth = 0; depth < 6 && current && typeof current === 'object'; depth++) {
    const {code, message} = current as {code?: unknown; message?: unknown}
    if (typeof code === 'string' && code.length > 0) return code
    if (depth > 0 && typeof message === 'string') innermost = message
    current = (current as {cause?: unknown}).cause
  }
  return innermost
}

function bodyMessage(body: unknown): string {
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>
    const text = record.message ?? record.error_description ?? record.error
    if (typeof text === 'string') return text
  }
  return typeof body === 'string' ? body.slice(0, 300) : ''
}

/** One actionable message for a failed Management API call. */
export function describeAuth0Error(error: unknown, action: string, context: {domain: string; scopes: string[]; usingToken: boolean}): string {
  const e = error as ManagementErrorShape
  const status = typeof e?.statusCode === 'number' ? e.statusCode : undefined
  const detail = bodyMessage(e?.body)
  const scopeList = context.scopes.join(' ')
  if (status === 401 || (status === 403 && /token request/.test(e.message))) {
    const why = context.usingToken
      ? 'The Management API token was rejected: it has expired or is not a token for this tenant. Get a new one (Auth0 dashboard → Applications → APIs → Auth0 Management API → API Explorer), or use a machine-to-machine client with --mgmt-client-id/--mgmt-client-secret.'
      : `The Management API client credentials were rejected by https://${context.domain}/oauth/token. Check --mgmt-client-id/--mgmt-client-secret and that the application is authorized for the Auth0 Management API.`
    return `Auth0 error ${status} while ${action}${detail ? `: ${detail}` : ''}.\n${why}\nThe credentials need these scopes: ${scopeList}`
  }
  if (status === 403) {
    return `Auth0 error 403 while ${action}${detail ? `: ${detail}` : ''}.\nThe Management API credentials lack a scope this set-up needs. Grant all of these to the application (Auth0 dashboard → Applications → APIs → Auth0 Management API → Machine to Machine Applications), or mint a token with them:\n  ${scopeList}`
  }
  if (status === 429) return `Auth0 rate limit hit while ${action}. Wait a minute and re-run the same command; it continues where it stopped.`
  if (status !== undefined && status >= 400) return `Auth0 error ${status} while ${action}${detail ? `: ${detail}` : ''}.`
  const cause = networkCause(error)
  if (cause || /fetch failed|timed? ?out/i.test(e?.message ?? '')) {
    return `Could not reach Auth0 at https://${context.domain} while ${action} (${cause ?? e.message}). Check --domain (e.g. your-tenant.us.auth0.com) and your network, then re-run the same command.`
  }
  return `Unexpected error while ${action}: ${e?.message ?? String(error)}`
}

// ---------------------------------------------------------------------------------------------
// The set-up

type Management = ManagementClient

interface StepContext {
  client: Management
  options: Auth0SetupOptions
  scopes: string[]
}

async function call<T>(context: StepContext, action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw new SetupFailure(describeAuth0Error(error, action, {domain: context.options.domain, scopes: context.scopes, usingToken: 'token' in context.options.credentials}))
  }
}

async function collect<T>(page: Promise<AsyncIterable<T>>): Promise<T[]> {
  const items: T[] = []
  for await (const item of await page) items.push(item)
  return items
}

export async function createManagementClient(options: Pick<Auth0SetupOptions, 'domain' | 'credentials'>): Promise<Management> {
  const {ManagementClient: Client} = await import('auth0')
  const base = {domain: options.domain, timeoutInSeconds: 20, maxRetries: 2}
  return 'token' in options.credentials
    ? new Client({...base, token: options.credentials.token})
    : new Client({...base, clientId: options.credentials.clientId, clientSecret: options.credentials.clientSecret})
}

function record(context: StepContext, kind: string, name: string, outcome: 'created' | 'updated' | 'unchanged', detail?: string): void {
  const dry = context.options.dryRun
  const shown = dry && outcome === 'created' ? 'would create' : dry && outcome === 'updated' ? 'would update' : outcome
  context.options.changes.add({kind, name, outcome: shown, detail})
}

async function ensureApi(context: StepContext, apiName: string): Promise<void> {
  const {client, options} = context
  const existing = (await call(context, 'listing APIs (resource servers)', () => collect(client.resourceServers.list({per_page: 100}))))
    .find((api) => api.identifier === options.audience)
  const scopes = MCP_SCOPES.map((s) => ({...s}))
  if (!existing) {
    if (!options.dryRun) {
      await call(context, `creating API ${options.audience}`, () => client.resourceServers.create({
        name: apiName,
        identifier: options.audience,
        signing_alg: 'RS256',
        scopes,
        allow_offline_access: true,
        token_lifetime: 86_400,
        skip_consent_for_verifiable_first_party_clients: true,
      }))
    }
    return record(context, 'Auth0 API', options.audience, 'created', 'scopes mcp:read mcp:write, offline access')
  }
  const haveScopes = new Set((existing.scopes ?? []).map((s) => s.value))
  const missingScopes = scopes.filter((s) => !haveScopes.has(s.value))
  const fixes = [missingScopes.length ? `added scopes ${missingScopes.map((s) => s.value).join(' ')}` : '', existing.allow_offline_access ? '' : 'enabled offline access'].filter(Boolean)
  if (fixes.length === 0) return record(context, 'Auth0 API', options.audience, 'unchanged')
  if (!options.dryRun) {
    await call(context, `updating API ${options.audience}`, () => client.resourceServers.update(existing.id ?? options.audience, {
      scopes: [...(existing.scopes ?? []), ...missingScopes],
      allow_offline_access: true,
    }))
  }
  record(context, 'Auth0 API', options.audience, 'updated', fixes.join(', '))
}

interface ClientSpec {
  name: string
  app_type: 'regular_web' | 'native'
  token_endpoint_auth_method: 'client_secret_post' | 'none'
  grant_types: string[]
  callbacks: string[]
  allowed_logout_urls?: string[]
  description: string
}

async function findClients(context: StepContext): Promise<Array<{client_id?: string; name?: string; app_type?: string; callbacks?: string[]; grant_types?: string[]; token_endpoint_auth_method?: string}>> {
  return call(context, 'listing applications', () =>
    collect(context.client.clients.list({per_page: 100, fields: 'client_id,name,app_type,callbacks,grant_types,token_endpoint_auth_method', include_fields: true})),
  )
}

/** Creates or fixes an application; returns its id (undefined in a dry run when it would be created) and a secret when Auth0 returned one. */
async function ensureClient(context: StepContext, spec: ClientSpec, known: Awaited<ReturnType<typeof findClients>>): Promise<{clientId?: string; clientSecret?: string; created: boolean}> {
  const {client, options} = context
  const existing = known.filter((c) => c.name === spec.name)
  if (existing.length === 0) {
    if (options.dryRun) {
      record(context, 'Auth0 application', spec.name, 'created', spec.app_type)
      return {created: true}
    }
    const created = await call(context, `creating application "${spec.name}"`, () => client.clients.create({
      ...spec,
      is_first_party: true,
      oidc_conformant: true,
      ...(spec.app_type === 'regular_web' ? {refresh_token: {rotation_type: 'rotating', expiration_type: 'expiring'}} : {}),
    }))
    record(context, 'Auth0 application', spec.name, 'created', `${spec.app_type}, client id ${created.client_id}`)
    return {clientId: created.client_id, clientSecret: created.client_secret, created: true}
  }
  const current = existing[0]
  const note = existing.length > 1 ? `; ${existing.length} applications share this name, using the first` : ''
  const callbacks = [...new Set([...(current.callbacks ?? []), ...spec.callbacks])]
  const grants = [...new Set([...(current.grant_types ?? []), ...spec.grant_types])]
  const fixes = [
    callbacks.length !== (current.callbacks ?? []).length ? 'callback URLs' : '',
    grants.length !== (current.grant_types ?? []).length ? 'grant types' : '',
    current.token_endpoint_auth_method !== spec.token_endpoint_auth_method ? 'token endpoint auth method' : '',
  ].filter(Boolean)
  if (fixes.length === 0) {
    record(context, 'Auth0 application', spec.name, 'unchanged', `client id ${current.client_id}${note}`)
    return {clientId: current.client_id, created: false}
  }
  if (!options.dryRun) {
    await call(context, `updating application "${spec.name}"`, () => client.clients.update(current.client_id!, {
      callbacks,
      grant_types: grants,
      token_endpoint_auth_method: spec.token_endpoint_auth_method,
    }))
  }
  record(context, 'Auth0 application', spec.name, 'updated', `${fixes.join(', ')}${note}`)
  return {clientId: current.client_id, created: false}
}

async function ensureGrant(context: StepContext, clientName: string, clientId: string | undefined): Promise<void> {
  const {client, options} = context
  const label = `${clientName} → ${options.audience}`
  const wanted = MCP_SCOPES.map((s) => s.value)
  if (!clientId) return record(context, 'Auth0 client grant', label, 'created', wanted.join(' '))
  const grants = await call(context, 'listing client grants', () => collect(client.clientGrants.list({client_id: clientId, audience: options.audience})))
  const existing = grants.find((g) => g.client_id === clientId && g.audience === options.audience)
  if (!existing) {
    if (!options.dryRun) {
      await call(context, `granting "${clientName}" access to ${options.audience}`, () =>
        client.clientGrants.create({client_id: clientId, audience: options.audience, scope: wanted, subject_type: 'user'}))
    }
    return record(context, 'Auth0 client grant', label, 'created', wanted.join(' '))
  }
  const have = new Set(existing.scope ?? [])
  if (wanted.every((s) => have.has(s))) return record(context, 'Auth0 client grant', label, 'unchanged')
  if (!options.dryRun) {
    await call(context, `updating the grant of "${clientName}"`, () => client.clientGrants.update(existing.id!, {scope: [...new Set([...have, ...wanted])]}))
  }
  record(context, 'Auth0 client grant', label, 'updated', 'added scopes')
}

async function ensureDcr(context: StepContext): Promise<string[]> {
  const {client, options} = context
  const settings = await call(context, 'reading tenant settings', () => client.tenants.settings.get({fields: 'flags', include_fields: true}))
  if (settings.flags?.enable_dynamic_client_registration) {
    record(context, 'Auth0 tenant setting', 'enable_dynamic_client_registration', 'unchanged')
  } else {
    if (!options.dryRun) {
      await call(context, 'enabling dynamic client registration', () => client.tenants.settings.update({flags: {enable_dynamic_client_registration: true}}))
    }
    record(context, 'Auth0 tenant setting', 'enable_dynamic_client_registration', 'updated', 'true')
  }
  if (options.connections.length === 0) return []
  const all = await call(context, 'listing connections', () => collect(client.connections.list({fields: 'id,name,strategy,is_domain_connection', include_fields: true})))
  const promoted: string[] = []
  for (const name of options.connections) {
    const connection = all.find((c) => c.name === name)
    if (!connection) {
      throw new SetupFailure(`Auth0 connection "${name}" (from --connection) does not exist. The tenant has: ${all.map((c) => c.name).join(', ') || 'none'}.`)
    }
    if (connection.is_domain_connection) {
      record(context, 'Auth0 connection', name, 'unchanged', 'domain level')
    } else {
      if (!options.dryRun) {
        await call(context, `promoting connection "${name}" to domain level`, () => client.connections.update(connection.id!, {is_domain_connection: true}))
      }
      record(context, 'Auth0 connection', name, 'updated', 'promoted to domain level')
    }
    promoted.push(name)
  }
  return promoted
}

export async function setupAuth0(options: Auth0SetupOptions): Promise<Auth0SetupResult> {
  const scopes = requiredManagementScopes(options)
  const client = await createManagementClient(options)
  const context: StepContext = {client, options, scopes}
  const {progress} = options
  const apiName = `${options.name} API`
  const serverName = `${options.name} server`
  const testName = `${options.name} test client`
  const callback = `${options.publicUrl.replace(/\/+$/, '')}/auth/callback`

  await progress.step(`${options.dryRun ? 'checking' : 'ensuring'} API ${options.audience}`, () => ensureApi(context, apiName))
  const known = await progress.step('listing applications', () => findClients(context))
  const server = await progress.step(`${options.dryRun ? 'checking' : 'ensuring'} application "${serverName}"`, () => ensureClient(context, {
    name: serverName,
    app_type: 'regular_web',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['authorization_code', 'refresh_token'],
    callbacks: [callback],
    allowed_logout_urls: [options.publicUrl],
    description: 'kmcp HTTP mode: upstream client of the OAuth facade (managed by kmcp setup auth0)',
  }, known))
  await progress.step(`${options.dryRun ? 'checking' : 'ensuring'} grant of "${serverName}" to the API`, () => ensureGrant(context, serverName, server.clientId))

  let clientSecret = server.clientSecret
  if (!clientSecret && options.needClientSecret && server.clientId) {
    clientSecret = await progress.step(`reading the client secret of "${serverName}"`, async () => {
      const full = await call(context, `reading the client secret of "${serverName}" (needs read:client_keys)`, () =>
        client.clients.get(server.clientId!, {fields: 'client_secret', include_fields: true}))
      return full.client_secret
    })
  }

  let test: Auth0SetupResult['testClient']
  if (options.testClient) {
    const made = await progress.step(`${options.dryRun ? 'checking' : 'ensuring'} application "${testName}"`, () => ensureClient(context, {
      name: testName,
      app_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      callbacks: ['http://127.0.0.1:8888/callback', 'http://localhost:8888/callback'],
      description: 'kmcp test: public client for getting user tokens in tests (managed by kmcp setup auth0)',
    }, known))
    await progress.step(`${options.dryRun ? 'checking' : 'ensuring'} grant of "${testName}" to the API`, () => ensureGrant(context, testName, made.clientId))
    test = {name: testName, clientId: made.clientId}
  }

  const promoted = options.enableDcr ? await progress.step('checking dynamic client registration and connections', () => ensureDcr(context)) : []
  return {
    domain: options.domain,
    issuer: issuerFor(options.domain),
    audience: options.audience,
    publicUrl: options.publicUrl,
    apiName,
    serverClient: {name: serverName, clientId: server.clientId, clientSecret},
    testClient: test,
    dcrEnabled: options.enableDcr,
    connectionsPromoted: promoted,
  }
}
