import {randomBytes} from 'node:crypto'
import {LATEST_PROTOCOL_VERSION} from '@modelcontextprotocol/sdk/types.js'
import {fail, pass, skip, type PluginOutcome, type TestPlugin, type TestSession} from '../plugin.ts'

/**
 * The HTTP authorization checks of the MCP specification, made with plain HTTP requests (no MCP
 * client): the 401 challenge, the protected-resource and authorization-server metadata, and that
 * the endpoint takes a valid token and refuses a bad one.
 */
const GROUP = 'auth'

interface Challenge {
  status: number
  wwwAuthenticate: string
  resourceMetadata?: string
}

/** POSTs an initialize request to the MCP endpoint with the given Authorization header (if any). */
async function postInitialize(session: TestSession, authorization?: string): Promise<Response> {
  const response = await fetch(session.url!, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(authorization ? {authorization} : {}),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: {name: 'kmcp-test-auth', version: '1.0.0'}},
    }),
    signal: session.signal,
  })
  return response
}

/** Closes the session an accepted initialize opened, so the check leaves nothing behind. */
async function endSession(session: TestSession, response: Response, authorization: string): Promise<void> {
  await response.body?.cancel().catch(() => undefined)
  const id = response.headers.get('mcp-session-id')
  if (!id) return
  await fetch(session.url!, {method: 'DELETE', headers: {authorization, 'mcp-session-id': id}, signal: session.signal}).catch(() => undefined)
}

/** A parameter of a `WWW-Authenticate: Bearer k="v", …` header. */
export function challengeParameter(header: string, name: string): string | undefined {
  const match = new RegExp(`(?:^|[\\s,])${name}="([^"]*)"`, 'i').exec(header) ?? new RegExp(`(?:^|[\\s,])${name}=([^\\s,"]+)`, 'i').exec(header)
  return match?.[1]
}

async function challenge(session: TestSession): Promise<Challenge> {
  const cached = session.shared.get('auth.challenge') as Challenge | undefined
  if (cached) return cached
  const response = await postInitialize(session)
  await response.body?.cancel().catch(() => undefined)
  const wwwAuthenticate = response.headers.get('www-authenticate') ?? ''
  const result = {status: response.status, wwwAuthenticate, resourceMetadata: challengeParameter(wwwAuthenticate, 'resource_metadata')}
  session.shared.set('auth.challenge', result)
  return result
}

async function getJson(url: string, signal: AbortSignal): Promise<{status: number; body?: Record<string, unknown>; problem?: string}> {
  const response = await fetch(url, {headers: {accept: 'application/json'}, signal})
  const text = await response.text()
  try {
    const body = JSON.parse(text) as unknown
    if (!body || typeof body !== 'object' || Array.isArray(body)) return {status: response.status, problem: 'the body is not a JSON object'}
    return {status: response.status, body: body as Record<string, unknown>}
  } catch {
    return {status: response.status, problem: `the body is not JSON: ${text.slice(0, 200)}`}
  }
}

/** Where the protected-resource metadata should be: the challenge's URL, else the RFC 9728 well-known paths. */
function metadataCandidates(session: TestSession, fromChallenge?: string): string[] {
  const url = session.url!
  const path = url.pathname.replace(/\/$/, '')
  return [...new Set([fromChallenge, new URL(`/.well-known/oauth-protected-resource${path}`, url).href, new URL('/.well-known/oauth-protected-resource', url).href].filter((entry): entry is string => Boolean(entry)))]
}

const sameUrl = (a: string, b: string) => a.replace(/\/$/, '') === b.replace(/\/$/, '')

const noToken = () => skip('no token given (use --token, --token-file, --client-credentials or --login)')

export const authSuite: TestPlugin[] = [
  {
    name: 'unauthenticated_challenge',
    group: GROUP,
    description: 'A request without a token gets 401 with WWW-Authenticate: Bearer resource_metadata="…"',
    needsConnection: false,
    transports: ['http'],
    test: async (session) => {
      const result = await challenge(session)
      if (result.status !== 401) return fail(`a request without a token got HTTP ${result.status} instead of 401: authentication looks switched off`)
      if (!/^Bearer\b/i.test(result.wwwAuthenticate)) return fail('the 401 has no WWW-Authenticate: Bearer challenge', `WWW-Authenticate: ${result.wwwAuthenticate || '(missing)'}`)
      if (!result.resourceMetadata) return fail('the challenge has no resource_metadata parameter (RFC 9728 §5.1)', `WWW-Authenticate: ${result.wwwAuthenticate}`)
      return pass(`401 with resource_metadata=${result.resourceMetadata}`)
    },
  },
  {
    name: 'protected_resource_metadata',
    group: GROUP,
    description: 'The protected-resource metadata names this endpoint and at least one authorization server',
    needsConnection: false,
    transports: ['http'],
    runAfter: ['unauthenticated_challenge'],
    test: async (session) => {
      const {resourceMetadata} = await challenge(session)
      const tried: string[] = []
      for (const url of metadataCandidates(session, resourceMetadata)) {
        const document = await getJson(url, session.signal)
        if (document.status !== 200 || !document.body) {
          tried.push(`${url}: HTTP ${document.status}${document.problem ? ` (${document.problem})` : ''}`)
          continue
        }
        const body = document.body
        const problems: string[] = []
        if (typeof body.resource !== 'string' || !sameUrl(body.resource, session.url!.href)) problems.push(`resource is ${JSON.stringify(body.resource)}, expected ${session.url!.href}`)
        const servers = body.authorization_servers
        if (!Array.isArray(servers) || servers.length === 0 || !servers.every((entry) => typeof entry === 'string')) problems.push('authorization_servers is not a non-empty list of URLs')
        if (problems.length > 0) return fail(`the metadata at ${url} is wrong`, problems.join('\n'))
        session.shared.set('auth.issuer', (servers as string[])[0])
        return pass(`${url}: authorization server ${(servers as string[])[0]}`)
      }
      return fail('no protected-resource metadata found', tried.join('\n'))
    },
  },
  {
    name: 'authorization_server_metadata',
    group: GROUP,
    description: 'The authorization server publishes RFC 8414 / OIDC metadata with its endpoints and PKCE S256',
    needsConnection: false,
    transports: ['http'],
    dependsOn: ['protected_resource_metadata'],
    test: async (session): Promise<PluginOutcome> => {
      const issuer = session.shared.get('auth.issuer') as string
      const base = new URL(issuer)
      const path = base.pathname.replace(/\/$/, '')
      const candidates = [
        new URL(`/.well-known/oauth-authorization-server${path}`, base).href,
        new URL(`/.well-known/openid-configuration${path}`, base).href,
        ...(path ? [new URL(`${path}/.well-known/openid-configuration`, base).href] : []),
      ]
      const tried: string[] = []
      for (const url of candidates) {
        const document = await getJson(url, session.signal)
        if (document.status !== 200 || !document.body) {
          tried.push(`${url}: HTTP ${document.status}`)
          continue
        }
        const body = document.body
        const problems: string[] = []
        if (typeof body.issuer !== 'string' || !sameUrl(body.issuer, issuer)) problems.push(`issuer is ${JSON.stringify(body.issuer)}, expected ${issuer}`)
        for (const field of ['authorization_endpoint', 'token_endpoint']) if (typeof body[field] !== 'string') problems.push(`${field} is missing`)
        const methods = body.code_challenge_methods_supported
        if (!Array.isArray(methods) || !methods.includes('S256')) problems.push('code_challenge_methods_supported does not list S256 (MCP clients must refuse to log in without it)')
        const responses = body.response_types_supported
        if (!Array.isArray(responses) || !responses.includes('code')) problems.push('response_types_supported does not list "code"')
        if (problems.length > 0) return fail(`the metadata at ${url} is incomplete`, problems.join('\n'))
        return pass(`${url}: token endpoint ${String(body.token_endpoint)}`)
      }
      return fail(`no authorization server metadata found for ${issuer}`, tried.join('\n'))
    },
  },
  {
    name: 'token_accepted',
    group: GROUP,
    description: 'The endpoint accepts the run\'s token',
    needsConnection: false,
    transports: ['http'],
    test: async (session) => {
      if (!session.token) return noToken()
      const authorization = `Bearer ${session.token}`
      const response = await postInitialize(session, authorization)
      await endSession(session, response, authorization)
      if (response.status !== 200) return fail(`the endpoint answered HTTP ${response.status} to a request with the token`, `WWW-Authenticate: ${response.headers.get('www-authenticate') ?? '(none)'}`)
      return pass('initialize with the token succeeded')
    },
  },
  {
    name: 'bad_token_refused',
    group: GROUP,
    description: 'A made-up token and a tampered copy of the run\'s token are refused with 401',
    needsConnection: false,
    transports: ['http'],
    runAfter: ['unauthenticated_challenge'],
    test: async (session) => {
      const bad = [{label: 'a made-up token', token: randomBytes(24).toString('base64url')}]
      if (session.token) {
        // Changing a character in the middle keeps the token's shape (a JWT stays three parts).
        const middle = Math.floor(session.token.length / 2)
        const swapped = session.token[middle] === 'A' ? 'B' : 'A'
        bad.push({label: 'a tampered copy of the token', token: `${session.token.slice(0, middle)}${swapped}${session.token.slice(middle + 1)}`})
      }
      const problems: string[] = []
      for (const {label, token} of bad) {
        const response = await postInitialize(session, `Bearer ${token}`)
        await endSession(session, response, `Bearer ${token}`)
        if (response.status !== 401) problems.push(`${label} got HTTP ${response.status} instead of 401`)
        else if (!/^Bearer\b/i.test(response.headers.get('www-authenticate') ?? '')) problems.push(`${label} got 401 without a WWW-Authenticate: Bearer challenge`)
      }
      if (problems.length > 0) return fail('a bad token was not refused properly', problems.join('\n'))
      return pass(`refused ${bad.map((entry) => entry.label).join(' and ')} with 401`)
    },
  },
]
