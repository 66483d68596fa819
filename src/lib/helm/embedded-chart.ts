import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {CHART_FILES} from './chart-bundle.generated.ts'

/**
 * Writes the chart compiled into kmcp to a private temporary folder for helm to read, so
 * `kmcp helm install` works from the single executable without a checkout. `remove` deletes it.
 */
export async function writeEmbeddedChart(): Promise<{dir: string; remove: () => Promise<void>}> {
  const root = await mkdtemp(join(tmpdir(), 'kmcp-chart-'))
  const dir = join(root, 'kmcp')
  for (const [path, text] of CHART_FILES) {
    const target = join(dir, path)
    await mkdir(dirname(target), {recursive: true})
    await writeFile(target, text)
  }
  return {dir, remove: () => rm(root, {recursive: true, force: true})}
}

/** The chart's version fields, read from the embedded Chart.yaml. */
export function embeddedChartVersion(): {version: string; appVersion: string} {
  const text = CHART_FILES.get('Chart.yaml') ?? ''
  const field = (name: string) => new RegExp(`^${name}:\\s*"?([^"\\n]+)"?`, 'm').exec(text)?.[1]?.trim() ?? 'unknown'
  return {version: field('version'), appVersion: field('appVersion')}
}
