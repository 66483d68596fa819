import type {IncomingMessage} from 'node:http'
import {isIP} from 'node:net'

export interface HostGuardOptions {
  /** The address the server listens on (--host). */
  listenHost: string
  /** public_url, when authentication is on: its host is always allowed. */
  publicUrl?: string
  /** --allowed-hosts: extra host names (Service DNS names, ingress host…). */
  allowedHosts?: string[]
  /** --allowed-origins: web origins (scheme://host[:port]) allowed besides the allowed hosts. */
  allowedOrigins?: string[]
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1'])

function hostnameOf(hostHeader: string): string | undefined {
  try {
    const url = new URL(`http://${hostHeader}`)
    if (url.username || url.password || url.pathname !== '/' || url.search) return undefined
    return url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase()
  } catch {
    return undefined
  }
}

/**
 * DNS-rebinding protection (a MUST of the MCP Streamable HTTP transport): a web page whose name
 * an attacker re-points at 127.0.0.1 (or at a cluster address) reaches kmcp with its own name in
 * Host and its own origin in Origin. Requests are answered only when Host names this server — a
 * loopback name, the listen address, public_url's host, or an --allowed-hosts name; an IP literal
 * too when listening on every address, since an IP cannot be rebound — and Origin, when present,
 * is one of those hosts or an --allowed-origins entry.
 */
export class HostGuard {
  private readonly hosts = new Set<string>(LOOPBACK_NAMES)
  private readonly origins = new Set<string>()
  private readonly anyIpLiteral: boolean

  constructor(options: HostGuardOptions) {
    const listen = options.listenHost.replace(/^\[|\]$/g, '').toLowerCase()
    this.anyIpLiteral = listen === '0.0.0.0' || listen === '::'
    this.hosts.add(listen)
    if (options.publicUrl) this.hosts.add(new URL(options.publicUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase())
    for (const host of options.allowedHosts ?? []) this.hosts.add(host.trim().replace(/\.$/, '').toLowerCase())
    for (const origin of options.allowedOrigins ?? []) this.origins.add(new URL(origin).origin)
    if (/^127\./.test(listen)) this.hosts.add(listen)
  }

  private hostAllowed(hostname: string): boolean {
    if (this.hosts.has(hostname)) return true
    if (/^127\.\d+\.\d+\.\d+$/.test(hostname)) return true
    return this.anyIpLiteral && isIP(hostname) !== 0
  }

  /** Undefined when the request may go on; otherwise why it is refused (safe to show). */
  check(req: IncomingMessage, checkOrigin: boolean): string | undefined {
    const host = req.headers.host
    const hostname = host ? hostnameOf(host) : undefined
    if (!hostname || !this.hostAllowed(hostname)) {
      return `Forbidden: the Host header ${JSON.stringify(String(host ?? '').slice(0, 100))} does not name this server (DNS rebinding protection). An operator can allow it with --allowed-hosts.`
    }
    const origin = req.headers.origin
    if (!checkOrigin || origin === undefined) return undefined
    let parsed: URL | undefined
    try {
      parsed = origin === 'null' ? undefined : new URL(origin)
    } catch {
      parsed = undefined
    }
    // Not any IP literal here: a page served from some address may not drive this server.
    const originHost = parsed?.hostname.replace(/^\[|\]$/g, '').toLowerCase()
    if (parsed && (this.origins.has(parsed.origin) || this.hosts.has(originHost!) || /^127\.\d+\.\d+\.\d+$/.test(originHost!))) return undefined
    return `Forbidden: requests from the web origin ${JSON.stringify(origin.slice(0, 100))} are not accepted (DNS rebinding and cross-site protection). An operator can allow it with --allowed-origins.`
  }
}
