import {describeKubeError} from '../k8s/errors.ts'

export interface ReadinessCheck {
  name: string
  /** Resolves when the dependency works; rejects with the reason otherwise. */
  check(): Promise<void>
}

export interface ReadinessReport {
  ready: boolean
  checks: Array<{name: string; ok: boolean; error?: string; duration_ms: number}>
}

/** Runs all checks in parallel, each bounded by `timeoutMs`. */
export async function runReadinessChecks(checks: ReadinessCheck[], timeoutMs = 4000): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async ({name, check}) => {
      const started = performance.now()
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
        ])
        return {name, ok: true, duration_ms: Math.round(performance.now() - started)}
      } catch (error) {
        return {name, ok: false, error: describeKubeError(error, `checking ${name}`), duration_ms: Math.round(performance.now() - started)}
      }
    }),
  )
  return {ready: results.every((r) => r.ok), checks: results}
}
