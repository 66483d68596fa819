/**
 * `kmcp probe`: an HTTP health check done by the kmcp binary itself, for container images
 * without curl or a shell (Docker HEALTHCHECK, the chart's loopback test sidecar).
 */
export interface ProbeResult {
  ok: boolean
  /** One line for the operator: status and the start of the body, or the connection error. */
  detail: string
}

export async function probe(url: string, timeoutMs: number): Promise<ProbeResult> {
  let target: URL
  try {
    target = new URL(url)
  } catch {
    return {ok: false, detail: `not a URL: ${url}`}
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return {ok: false, detail: `only http:// and https:// can be probed (got ${target.protocol})`}
  try {
    const response = await fetch(target, {signal: AbortSignal.timeout(timeoutMs), redirect: 'manual'})
    const body = (await response.text()).replace(/\s+/g, ' ').slice(0, 200)
    return {ok: response.status >= 200 && response.status < 300, detail: `${response.status} from ${target.href}${body ? `: ${body}` : ''}`}
  } catch (error) {
    const cause = (error as {cause?: {code?: string; message?: string}}).cause
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (error as Error).message)
    return {ok: false, detail: `${target.href}: ${reason}`}
  }
}
