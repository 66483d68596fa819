// A loopback HTTPS double of the Auth0 Management API v2 and its token endpoint, for
// `kmcp setup auth0` tests. It implements the documented endpoints kmcp uses, keeps state, and
// rejects what the real API rejects: a token without the needed scope (403 insufficient_scope),
// an expired or unknown token (401), an unknown body field or a wrong type (400), an object that
// already exists (409). Bodies follow Auth0's error shape {statusCode, error, message, errorCode}.
// The certificate is self-signed for 127.0.0.1; the kmcp process trusts it via NODE_EXTRA_CA_CERTS.
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:https'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {AddressInfo, Socket} from 'node:net'

export const ALL_SCOPES = [
  'read:resource_servers', 'create:resource_servers', 'update:resource_servers',
  'read:clients', 'create:clients', 'update:clients', 'read:client_keys',
  'read:client_grants', 'create:client_grants', 'update:client_grants',
  'read:tenant_settings', 'update:tenant_settings', 'read:connections', 'update:connections',
]

// Stored objects are free-form JSON, as in Auth0; tests read arbitrary fields of them.
type Json = Record<string, any>

export interface RecordedRequest {
  method: string
  path: string
  body: unknown
}

export interface Auth0Double {
  /** host:port, what kmcp takes as --domain. */
  domain: string
  /** PEM file to put in NODE_EXTRA_CA_CERTS of the kmcp process. */
  caFile: string
  resourceServers: Json[]
  clients: Json[]
  grants: Json[]
  connections: Json[]
  tenantFlags: Record<string, boolean>
  requests: RecordedRequest[]
  /** A machine-to-machine application allowed every scope. */
  m2m: {clientId: string; clientSecret: string}
  /** Registers a machine-to-machine application with exactly these scopes. */
  addM2mClient(scopes: string[]): {clientId: string; clientSecret: string}
  /** A static Management API token with these scopes (expired when asked). */
  token(scopes: string[], options?: {expired?: boolean}): string
  /** The next request matching method and path prefix gets its connection dropped (no response). */
  dropNext(method: string, pathPrefix: string): void
  /** Requests that changed something (POST/PATCH/DELETE under /api/v2). */
  writes(): RecordedRequest[]
  close(): Promise<void>
}

function makeCertificate(): {key: string; cert: string; caFile: string} {
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-auth0-double-'))
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], {stdio: 'ignore'})
  return {key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), caFile: join(dir, 'cert.pem')}
}

class HttpError extends Error {
  readonly status: number
  readonly errorCode: string
  constructor(status: number, errorCode: string, message: string) {
    super(message)
    this.status = status
    this.errorCode = errorCode
  }
}

const STATUS_TEXT: Record<number, string> = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict'}

function badBody(message: string): HttpError {
  return new HttpError(400, 'invalid_body', `Payload validation error: ${message}`)
}

/** Checks a body against an allow-list of fields with their JSON types. */
function checkBody(body: unknown, fields: Record<string, 'string' | 'boolean' | 'number' | 'array' | 'object'>, required: string[] = []): Json {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badBody("'Expected type object'")
  for (const [key, value] of Object.entries(body)) {
    const type = fields[key]
    if (!type) throw badBody(`'Additional properties not allowed: ${key}'`)
    const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value
    if (actual !== type) throw badBody(`'Expected type ${type} but found type ${actual}' on property ${key}`)
  }
  for (const key of required) if (!(key in (body as Json))) throw badBody(`'Missing required property: ${key}'`)
  return body as Json
}

const RESOURCE_SERVER_FIELDS = {name: 'string', identifier: 'string', signing_alg: 'string', scopes: 'array', allow_offline_access: 'boolean', token_lifetime: 'number', skip_consent_for_verifiable_first_party_clients: 'boolean', subject_type_authorization: 'object'} as const
const CLIENT_FIELDS = {name: 'string', description: 'string', app_type: 'string', is_first_party: 'boolean', oidc_conformant: 'boolean', grant_types: 'array', token_endpoint_auth_method: 'string', callbacks: 'array', allowed_logout_urls: 'array', web_origins: 'array', allowed_origins: 'array', refresh_token: 'object'} as const
const APP_TYPES = new Set(['native', 'spa', 'regular_web', 'non_interactive'])
const AUTH_METHODS = new Set(['none', 'client_secret_post', 'client_secret_basic'])
const TENANT_FLAGS = new Set(['enable_dynamic_client_registration', 'enable_client_connections', 'enable_public_signup_user_exists_error'])

function pick(object: Json, fields: string | undefined, include: string | undefined): Json {
  if (!fields) return object
  const wanted = new Set(fields.split(','))
  const keep = include !== 'false'
  return Object.fromEntries(Object.entries(object).filter(([key]) => wanted.has(key) === keep))
}

function id(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`
}

export async function startAuth0Double(): Promise<Auth0Double> {
  const {key, cert, caFile} = makeCertificate()
  const tokens = new Map<string, {scopes: Set<string>; expired: boolean}>()
  const m2mClients = new Map<string, {secret: string; scopes: string[]}>()
  const drops: Array<{method: string; prefix: string}> = []
  const sockets = new Set<Socket>()
  let domain = ''

  const state = {
    resourceServers: [] as Json[],
    clients: [] as Json[],
    grants: [] as Json[],
    connections: [
      {id: 'con_userpass', name: 'Username-Password-Authentication', strategy: 'auth0', is_domain_connection: false},
      {id: 'con_google', name: 'google-oauth2', strategy: 'google-oauth2', is_domain_connection: false},
    ] as Json[],
    tenantFlags: {enable_dynamic_client_registration: false, enable_client_connections: true} as Record<string, boolean>,
    requests: [] as RecordedRequest[],
  }

  function authorize(req: IncomingMessage, scope: string): void {
    const header = req.headers.authorization ?? ''
    const match = /^Bearer (\S+)$/.exec(header)
    if (!match) throw new HttpError(401, 'undefined', 'Missing authentication')
    const token = tokens.get(match[1])
    if (!token) throw new HttpError(401, 'undefined', 'Invalid token')
    if (token.expired) throw new HttpError(401, 'undefined', 'Expired token received for JSON Web Token validation')
    if (!token.scopes.has(scope)) throw new HttpError(403, 'insufficient_scope', `Insufficient scope, expected any of: ${scope}`)
  }

  function issueToken(scopes: string[], expired = false): string {
    const token = `tok_${randomBytes(16).toString('hex')}`
    tokens.set(token, {scopes: new Set(scopes), expired})
    return token
  }

  function paged(items: Json[], query: URLSearchParams, key: string): Json {
    const page = Number(query.get('page') ?? 0)
    const perPage = Number(query.get('per_page') ?? 50)
    const slice = items.slice(page * perPage, page * perPage + perPage)
    return {start: page * perPage, limit: perPage, length: slice.length, total: items.length, [key]: slice}
  }

  function tokenEndpoint(req: IncomingMessage, raw: string): Json {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      throw new HttpError(400, 'invalid_request', 'unsupported content type')
    }
    const form = new URLSearchParams(raw)
    if (form.get('grant_type') !== 'client_credentials') throw new HttpError(400, 'unsupported_grant_type', 'Unsupported grant type')
    if (form.get('audience') !== `https://${domain}/api/v2/`) throw new HttpError(403, 'access_denied', `Service not enabled within domain: ${form.get('audience')}`)
    const client = m2mClients.get(form.get('client_id') ?? '')
    if (!client || client.secret !== form.get('client_secret')) throw new HttpError(401, 'access_denied', 'Unauthorized')
    return {access_token: issueToken(client.scopes), token_type: 'Bearer', expires_in: 86_400, scope: client.scopes.join(' ')}
  }

  function route(req: IncomingMessage, url: URL, body: unknown): {status: number; json?: unknown} {
    const {method = 'GET'} = req
    const path = url.pathname
    const q = url.searchParams
    let m: RegExpExecArray | null

    if (path === '/api/v2/resource-servers' && method === 'GET') {
      authorize(req, 'read:resource_servers')
      return {status: 200, json: paged(state.resourceServers, q, 'resource_servers')}
    }
    if (path === '/api/v2/resource-servers' && method === 'POST') {
      authorize(req, 'create:resource_servers')
      const rs = checkBody(body, RESOURCE_SERVER_FIELDS, ['identifier'])
      for (const scope of rs.scopes ?? []) checkBody(scope, {value: 'string', description: 'string'}, ['value'])
      if (state.resourceServers.some((r) => r.identifier === rs.identifier)) throw new HttpError(409, 'operation_not_supported', 'A resource server with the same identifier already exists')
      const created = {id: id('rs'), scopes: [], ...rs}
      state.resourceServers.push(created)
      return {status: 201, json: created}
    }
    if ((m = /^\/api\/v2\/resource-servers\/([^/]+)$/.exec(path)) && method === 'PATCH') {
      authorize(req, 'update:resource_servers')
      const {identifier: _notUpdatable, ...fields} = RESOURCE_SERVER_FIELDS
      const patch = checkBody(body, fields)
      const rs = state.resourceServers.find((r) => r.id === decodeURIComponent(m![1]) || r.identifier === decodeURIComponent(m![1]))
      if (!rs) throw new HttpError(404, 'inexistent_resource_server', 'The resource server does not exist')
      Object.assign(rs, patch)
      return {status: 200, json: rs}
    }
    if (path === '/api/v2/clients' && method === 'GET') {
      authorize(req, 'read:clients')
      const appType = q.get('app_type')
      const items = state.clients.filter((c) => !appType || appType.split(',').includes(c.app_type)).map((c) => pick(withoutSecret(c), q.get('fields') ?? undefined, q.get('include_fields') ?? undefined))
      return {status: 200, json: paged(items, q, 'clients')}
    }
    if (path === '/api/v2/clients' && method === 'POST') {
      authorize(req, 'create:clients')
      const client = checkBody(body, CLIENT_FIELDS, ['name'])
      if (client.app_type && !APP_TYPES.has(client.app_type)) throw badBody(`'No enum match for: "${client.app_type}"' on property app_type`)
      if (client.token_endpoint_auth_method && !AUTH_METHODS.has(client.token_endpoint_auth_method)) throw badBody(`'No enum match for: "${client.token_endpoint_auth_method}"' on property token_endpoint_auth_method`)
      const created = {client_id: randomBytes(16).toString('hex'), client_secret: randomBytes(32).toString('base64url'), callbacks: [], grant_types: [], ...client}
      state.clients.push(created)
      return {status: 201, json: created}
    }
    if ((m = /^\/api\/v2\/clients\/([^/]+)$/.exec(path))) {
      const client = state.clients.find((c) => c.client_id === m![1])
      if (method === 'GET') {
        authorize(req, 'read:clients')
        if (!client) throw new HttpError(404, 'inexistent_client', 'Client not found')
        const canSeeSecret = tokens.get((req.headers.authorization ?? '').slice(7))?.scopes.has('read:client_keys')
        return {status: 200, json: pick(canSeeSecret ? client : withoutSecret(client), q.get('fields') ?? undefined, q.get('include_fields') ?? undefined)}
      }
      if (method === 'PATCH') {
        authorize(req, 'update:clients')
        const patch = checkBody(body, CLIENT_FIELDS)
        if (!client) throw new HttpError(404, 'inexistent_client', 'Client not found')
        Object.assign(client, patch)
        return {status: 200, json: client}
      }
    }
    if (path === '/api/v2/client-grants' && method === 'GET') {
      authorize(req, 'read:client_grants')
      const items = state.grants.filter((g) => (!q.get('client_id') || g.client_id === q.get('client_id')) && (!q.get('audience') || g.audience === q.get('audience')))
      return {status: 200, json: {client_grants: items, start: 0, limit: 50, total: items.length}}
    }
    if (path === '/api/v2/client-grants' && method === 'POST') {
      authorize(req, 'create:client_grants')
      const grant = checkBody(body, {client_id: 'string', audience: 'string', scope: 'array', subject_type: 'string', allow_all_scopes: 'boolean', default_for: 'string'}, ['audience'])
      if (grant.subject_type && !['client', 'user'].includes(grant.subject_type)) throw badBody(`'No enum match for: "${grant.subject_type}"' on property subject_type`)
      if (!state.clients.some((c) => c.client_id === grant.client_id)) throw new HttpError(404, 'inexistent_client', 'Client not found')
      if (!state.resourceServers.some((r) => r.identifier === grant.audience)) throw new HttpError(404, 'inexistent_resource_server', `No resource server found for audience ${grant.audience}`)
      if (state.grants.some((g) => g.client_id === grant.client_id && g.audience === grant.audience && (g.subject_type ?? 'client') === (grant.subject_type ?? 'client'))) {
        throw new HttpError(409, 'client_grant_conflict', 'A client grant for this client and audience already exists')
      }
      const created = {id: id('cgr'), scope: [], ...grant}
      state.grants.push(created)
      return {status: 201, json: created}
    }
    if ((m = /^\/api\/v2\/client-grants\/([^/]+)$/.exec(path)) && method === 'PATCH') {
      authorize(req, 'update:client_grants')
      const patch = checkBody(body, {scope: 'array', allow_all_scopes: 'boolean'})
      const grant = state.grants.find((g) => g.id === m![1])
      if (!grant) throw new HttpError(404, 'inexistent_client_grant', 'Client grant not found')
      Object.assign(grant, patch)
      return {status: 200, json: grant}
    }
    if (path === '/api/v2/tenants/settings' && method === 'GET') {
      authorize(req, 'read:tenant_settings')
      return {status: 200, json: pick({flags: {...state.tenantFlags}, friendly_name: 'kmcp tests'}, q.get('fields') ?? undefined, q.get('include_fields') ?? undefined)}
    }
    if (path === '/api/v2/tenants/settings' && method === 'PATCH') {
      authorize(req, 'update:tenant_settings')
      const patch = checkBody(body, {flags: 'object', friendly_name: 'string'})
      for (const [flag, value] of Object.entries(patch.flags ?? {})) {
        if (!TENANT_FLAGS.has(flag)) throw badBody(`'Additional properties not allowed: ${flag}' on property flags`)
        if (typeof value !== 'boolean') throw badBody(`'Expected type boolean' on property flags.${flag}`)
        state.tenantFlags[flag] = value
      }
      return {status: 200, json: {flags: state.tenantFlags}}
    }
    if (path === '/api/v2/connections' && method === 'GET') {
      authorize(req, 'read:connections')
      const items = state.connections.map((c) => pick(c, q.get('fields') ?? undefined, q.get('include_fields') ?? undefined))
      return {status: 200, json: {connections: items}}
    }
    if ((m = /^\/api\/v2\/connections\/([^/]+)$/.exec(path)) && method === 'PATCH') {
      authorize(req, 'update:connections')
      const patch = checkBody(body, {is_domain_connection: 'boolean', display_name: 'string', options: 'object'})
      const connection = state.connections.find((c) => c.id === m![1])
      if (!connection) throw new HttpError(404, 'inexistent_connection', 'The connection does not exist')
      Object.assign(connection, patch)
      return {status: 200, json: connection}
    }
    throw new HttpError(404, 'not_found', `Not found: ${method} ${path}`)
  }

  function withoutSecret(client: Json): Json {
    const {client_secret: _secret, ...rest} = client
    return rest
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const url = new URL(req.url ?? '/', `https://${domain}`)
    const method = req.method ?? 'GET'
    const dropAt = drops.findIndex((d) => d.method === method && url.pathname.startsWith(d.prefix))
    if (dropAt >= 0) {
      drops.splice(dropAt, 1)
      state.requests.push({method, path: url.pathname, body: '(dropped)'})
      req.socket.destroy()
      return
    }
    const send = (status: number, json: unknown) => {
      res.writeHead(status, {'content-type': 'application/json; charset=utf-8'})
      res.end(JSON.stringify(json))
    }
    try {
      if (url.pathname === '/oauth/token' && method === 'POST') {
        state.requests.push({method, path: url.pathname, body: '(form)'})
        send(200, tokenEndpoint(req, raw))
        return
      }
      let body: unknown
      if (raw) {
        if (!String(req.headers['content-type'] ?? '').includes('application/json')) throw new HttpError(400, 'invalid_body', 'Invalid request payload JSON format')
        try {
          body = JSON.parse(raw)
        } catch {
          throw new HttpError(400, 'invalid_body', 'Invalid request payload JSON format')
        }
      }
      state.requests.push({method, path: url.pathname, body})
      const out = route(req, url, body)
      send(out.status, out.json)
    } catch (error) {
      if (error instanceof HttpError) {
        if (url.pathname === '/oauth/token') send(error.status, {error: error.errorCode, error_description: error.message})
        else send(error.status, {statusCode: error.status, error: STATUS_TEXT[error.status] ?? 'Error', message: error.message, errorCode: error.errorCode})
        return
      }
      send(500, {statusCode: 500, error: 'Internal Server Error', message: (error as Error).message})
    }
  }

  const server: Server = createServer({key, cert}, (req, res) => {
    handle(req, res).catch(() => res.destroy())
  })
  server.on('secureConnection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  domain = `127.0.0.1:${(server.address() as AddressInfo).port}`

  const addM2mClient = (scopes: string[]) => {
    const credentials = {clientId: randomBytes(12).toString('hex'), clientSecret: randomBytes(24).toString('base64url')}
    m2mClients.set(credentials.clientId, {secret: credentials.clientSecret, scopes})
    return credentials
  }

  return {
    domain,
    caFile,
    get resourceServers() {
      return state.resourceServers
    },
    get clients() {
      return state.clients
    },
    get grants() {
      return state.grants
    },
    get connections() {
      return state.connections
    },
    get tenantFlags() {
      return state.tenantFlags
    },
    get requests() {
      return state.requests
    },
    m2m: addM2mClient(ALL_SCOPES),
    addM2mClient,
    token: (scopes, options = {}) => issueToken(scopes, options.expired),
    dropNext: (method, prefix) => {
      drops.push({method, prefix})
    },
    writes: () => state.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/api/v2/')),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
