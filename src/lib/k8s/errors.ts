/**
 * Kubernetes failures, turned into messages that tell a language model (or a person) what
 * happened and what to do next. Every tool error that comes from the API server goes through
 * `describeKubeError`, so the wording is the same everywhere.
 */

export interface KubeStatusCause {
  field?: string
  message?: string
  reason?: string
}

/** A non-2xx answer of the API server, with its `Status` body when it sent one. */
export class KubeApiError extends Error {
  readonly status: number
  readonly reason: string
  readonly details?: {name?: string; kind?: string; group?: string; causes?: KubeStatusCause[]; retryAfterSeconds?: number}
  readonly method: string
  readonly path: string

  constructor(init: {status: number; reason?: string; message: string; details?: KubeApiError['details']; method: string; path: string}) {
    super(init.message)
    this.name = 'KubeApiError'
    this.status = init.status
    this.reason = init.reason ?? reasonForStatus(init.status)
    this.details = init.details
    this.method = init.method
    this.path = init.path
  }
}

/** The API server could not be reached at all (refused, DNS, timeout, TLS). */
export class KubeConnectionError extends Error {
  readonly server: string
  readonly code: string
  readonly hint: string

  constructor(server: string, code: string, detail: string, hint: string) {
    super(detail)
    this.name = 'KubeConnectionError'
    this.server = server
    this.code = code
    this.hint = hint
  }
}

/** No usable Kubernetes configuration was found; says where it looked. */
export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KubeConfigError'
  }
}

function reasonForStatus(status: number): string {
  const reasons: Record<number, string> = {
    400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
    409: 'Conflict', 410: 'Gone', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 422: 'Invalid',
    429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
  }
  return reasons[status] ?? (status >= 500 ? 'ServerError' : 'Error')
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_NOT_YET_VALID', 'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO', 'ERR_TLS_HANDSHAKE_TIMEOUT',
])

/** Wraps a low-level network error into a KubeConnectionError with a concrete fix. */
export function connectionErrorFor(server: string, error: unknown, configSource: string): KubeConnectionError {
  const code = findErrorCode(error) ?? 'UNKNOWN'
  const detail = error instanceof Error ? error.message : String(error)
  let hint: string
  if (code === 'ECONNREFUSED') {
    hint = `Nothing is listening at ${server}. Check that the cluster is running and that ${configSource} points at it (kmcp serve --kubeconfig PATH --context NAME).`
  } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    hint = `The host name in ${server} does not resolve. Fix the cluster's server address in ${configSource}.`
  } else if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') {
    hint = `The API server at ${server} did not answer in time. Check network access (VPN, firewall) to it, then retry.`
  } else if (TLS_CODES.has(code)) {
    hint = `The TLS handshake with ${server} failed (${code}). The cluster's certificate-authority in ${configSource} does not match the server's certificate, or the certificate expired; refresh the kubeconfig from your cluster provider.`
  } else if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') {
    hint = `The connection to ${server} was reset. The API server may be restarting; retry in a few seconds.`
  } else {
    hint = `Check that ${server} is reachable from where kmcp runs and that ${configSource} is current.`
  }
  return new KubeConnectionError(server, code, detail, hint)
}

function findErrorCode(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current; depth++) {
    if (typeof current === 'object' && current !== null) {
      const code = (current as {code?: unknown}).code
      if (typeof code === 'string' && code !== 'UND_ERR' ) return code
      current = (current as {cause?: unknown}).cause
    } else break
  }
  return undefined
}

/** What to do next, by HTTP status. `action` reads like "listing clusters in namespace x". */
function adviceFor(error: KubeApiError, action: string): string {
  switch (error.status) {
    case 400:
      return 'The request was malformed for this API server. Check the arguments; if they look right, the API server may be older than CNPG v1.30 expects.'
    case 401:
      return 'The credentials kmcp uses were rejected. The token may have expired: refresh the kubeconfig (or the service account token) and retry.'
    case 403:
      return `The identity kmcp uses is not allowed to do this (${action}). Ask a cluster admin to bind it to the CNPG ClusterRoles in that namespace (cnpg-cloudnative-pg-view for reading, cnpg-cloudnative-pg-edit for changes), e.g. with "kmcp rbac setup", or use a namespace you have access to.`
    case 404: {
      const what = error.details?.kind ? `${error.details.kind} "${error.details.name ?? ''}"` : 'The object'
      return `${what} does not exist there. List what exists first (for clusters: list_postgres_clusters with the same namespace) and check the name and namespace. If the kind itself is unknown, the CNPG CRDs are not installed in this cluster.`
    }
    case 405:
      return 'The API server does not allow this method on that resource.'
    case 409:
      return error.reason === 'AlreadyExists'
        ? 'An object with that name already exists. Choose another name, or inspect the existing one before changing it.'
        : 'The object changed while this request was made (a concurrent update). Read it again and retry.'
    case 410:
      return 'The list continue token or resource version expired. Start the list again without "continue".'
    case 413:
      return 'The request body is too large for the API server.'
    case 415:
      return 'The API server did not accept the patch type; this is a kmcp bug, please report it.'
    case 422:
      return 'The API server rejected the object as invalid (CRD schema, CEL rules or admission webhooks). Fix the fields named above and retry; use dry_run=true to check a change without storing it.'
    case 429:
      return `The API server is throttling requests${error.details?.retryAfterSeconds ? `; retry after ${error.details.retryAfterSeconds} s` : '; wait a few seconds and retry'}.`
    default:
      if (error.status >= 500) return 'The API server (or an admission webhook it calls) failed. This is usually temporary: retry in a few seconds; if it persists, check the control plane and the CNPG operator webhook.'
      return 'Check the arguments and retry.'
  }
}

/** The one message format for every Kubernetes failure a tool reports. */
export function describeKubeError(error: unknown, action: string): string {
  if (error instanceof KubeApiError) {
    const lines = [`Kubernetes API error ${error.status} ${error.reason} while ${action}: ${error.message}`]
    const causes = error.details?.causes?.filter((c) => c.message || c.field) ?? []
    for (const cause of causes.slice(0, 10)) {
      lines.push(`  - ${cause.field ? `${cause.field}: ` : ''}${cause.message ?? cause.reason ?? ''}`)
    }
    if (causes.length > 10) lines.push(`  - … and ${causes.length - 10} more`)
    lines.push(`What to do: ${adviceFor(error, action)}`)
    return lines.join('\n')
  }
  if (error instanceof KubeConnectionError) {
    return `Could not reach the Kubernetes API server at ${error.server} while ${action} (${error.code}: ${error.message}).\nWhat to do: ${error.hint}`
  }
  if (error instanceof KubeConfigError) {
    return `No usable Kubernetes configuration while ${action}: ${error.message}`
  }
  const message = error instanceof Error ? error.message : String(error)
  return `Unexpected error while ${action}: ${message}`
}
