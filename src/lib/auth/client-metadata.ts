import {lookup} from 'node:dns/promises'
import {isIP} from 'node:net'
import {log} from '../server/logger.ts'

/**
 * Client ID Metadata Documents (MCP authorization 2025-11-25 and 2026-07-28): a client whose
 * client_id is an https URL publishes its metadata there, and kmcp reads it instead of asking the
 * client to register. Off unless the operator lists the hosts it trusts (`cimd_allowed_hosts`):
 * reading a URL a stranger chose is a server-side request, so every read is limited to those
 * hosts, to https, to public addresses (unless an address is listed literally), without
 * redirects, to 64 KiB and 5 seconds.
 */
export interface MetadataDocumentClient {
  client_id: string
  client_name?: string
  redirect_uris: string[]
}

const MAX_DOCUMENT_BYTES = 64 * 1024
const DEFAULT_CACHE_SECONDS = 300
const MAX_CACHE_SECONDS = 24 * 3600

export function isMetadataDocumentClientId(clientId: string): boolean {
  return clientId.startsWith('https://')
}

/** `example.com` matches that host only; `*.example.com` matches its subdomains. */
function hostAllowed(hostname: string, allowed: string[]): boolean {
  return allowed.some((pattern) => (pattern.startsWith('*.') ? hostname.endsWith(pattern.slice(1)) && hostname.length > pattern.length - 1 : hostname === pattern))
}

/** Loopback, private, link-local, unique-local and unspecified addresses. */
function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 4) {
    const [a, b] = address.split('.').map(Number)
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)
  }
  const v6 = address.toLowerCase()
  if (v6.startsWith('::ffff:')) return isPrivateAddress(v6.slice(7))
  return v6 === '::' || v6 === '::1' || v6.startsWith('fc') || v6.startsWith('fd') || v6.startsWith('fe80')
}

export class ClientMetadataDocuments {
  private readonly allowedHosts: string[]
  private readonly cache = new Map<string, {client: MetadataDocumentClient; until: number}>()

  constructor(allowedHosts: string[]) {
    this.allowedHosts = allowedHosts
  }

  get enabled(): boolean {
    return this.allowedHosts.length > 0
  }

  /** The client described at `clientId`, or undefined (with the reason logged) when it may not be used. */
  async load(clientId: string): Promise<MetadataDocumentClient | undefined> {
    if (!this.enabled) return undefined
    const cached = this.cache.get(clientId)
    if (cached && cached.until > Date.now()) return cached.client
    try {
      const {client, maxAge} = await this.fetchDocument(clientId)
      if (this.cache.size >= 1000) this.cache.delete(this.cache.keys().next().value!)
      this.cache.set(clientId, {client, until: Date.now() + maxAge * 1000})
      return client
    } catch (error) {
      log.warn('client metadata document refused', {client_id: clientId.slice(0, 200), reason: (error as Error).message})
      return undefined
    }
  }

  private async fetchDocument(clientId: string): Promise<{client: MetadataDocumentClient; maxAge: number}> {
    const url = new URL(clientId)
    if (url.protocol !== 'https:' || url.pathname === '/' || url.hash || url.username || url.password) throw new Error('client_id must be an https URL with a path, without fragment or credentials')
    const hostname = url.hostname.replace(/^\[|\]$/g, '')
    if (!hostAllowed(hostname, this.allowedHosts)) throw new Error(`host ${hostname} is not in cimd_allowed_hosts`)
    // An IP address is reachable only when the operator listed it literally; a name must
    // resolve to public addresses only.
    if (isIP(hostname) === 0) {
      const addresses = await lookup(hostname, {all: true})
      if (addresses.some((a) => isPrivateAddress(a.address))) throw new Error(`host ${hostname} resolves to a private address`)
    }
    const response = await fetch(url, {redirect: 'manual', signal: AbortSignal.timeout(5000), headers: {accept: 'application/json'}})
    if (response.status !== 200) throw new Error(`the document answered HTTP ${response.status} (redirects are not followed)`)
    const text = await readCapped(response, MAX_DOCUMENT_BYTES)
    const document = JSON.parse(text) as Record<string, unknown>
    if (document.client_id !== clientId) throw new Error('the document\'s client_id is not its own URL')
    const method = document.token_endpoint_auth_method
    if (method !== undefined && method !== 'none') throw new Error(`token_endpoint_auth_method ${String(method)} is not supported (public clients only)`)
    const redirectUris = document.redirect_uris
    if (!Array.isArray(redirectUris) || redirectUris.length === 0 || redirectUris.some((u) => typeof u !== 'string')) throw new Error('redirect_uris must be a non-empty list of URLs')
    const name = typeof document.client_name === 'string' ? document.client_name.slice(0, 200) : undefined
    const maxAge = /max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1]
    return {client: {client_id: clientId, client_name: name, redirect_uris: redirectUris as string[]}, maxAge: Math.min(maxAge ? Number(maxAge) : DEFAULT_CACHE_SECONDS, MAX_CACHE_SECONDS)}
  }
}

async function readCapped(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader()
  if (!reader) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const {done, value} = await reader.read()
    if (done) break
    size += value.length
    if (size > limit) {
      await reader.cancel()
      throw new Error(`the document is larger than ${limit} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}
