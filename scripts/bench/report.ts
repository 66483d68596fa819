// Shared by the benchmark scripts: options, percentiles, and the record of a full run in
// docs/benchmarks.md (date, machine load, command), so every number there says how it was made.
import {appendFileSync, readFileSync} from 'node:fs'
import {cpus, loadavg} from 'node:os'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..')
const args = process.argv.slice(2)

/** `--name value` from the command line, else the fallback. */
export function option(name: string, fallback: string): string {
  const index = args.indexOf(name)
  return index >= 0 && index + 1 < args.length ? args[index + 1] : fallback
}

export const flag = (name: string): boolean => args.includes(name)

// --help prints the script's header comment (its usage) instead of starting a run that writes docs/benchmarks.md.
if (flag('--help') || flag('-h')) {
  const header = readFileSync(process.argv[1], 'utf8').split('\n')
  const usage = header.slice(0, header.findIndex((line) => !line.startsWith('//')))
  process.stdout.write(usage.map((line) => line.replace(/^\/\/ ?/, '')).join('\n') + '\n')
  process.exit(0)
}
/** --smoke: a run of a few seconds that proves the script still works; its numbers mean nothing. */
export const smoke = flag('--smoke')

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))]
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** "load 1.20 0.90 0.70 on 2 CPUs", as uptime shows it. */
export function machineLoad(): string {
  return `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs`
}

/** The command line that ran this script, relative to the repository. */
export function commandLine(): string {
  return ['node', ...process.execArgv, ...process.argv.slice(1).map((arg) => arg.replace(`${REPO_ROOT}/`, ''))].join(' ')
}

/**
 * Appends the result of a full run to docs/benchmarks.md under `heading`, with the date, the load
 * at the start and at the end, and the command; not for --smoke runs, nor with --no-write.
 */
export function recordRun(heading: string, loadAtStart: string, body: string): void {
  if (flag('--no-write') || smoke) return
  const file = join(REPO_ROOT, 'docs/benchmarks.md')
  const date = new Date().toISOString().replace('T', ' ').slice(0, 16)
  const entry = `\n### ${heading}: run of ${date} UTC\n\n\`${commandLine()}\`, node ${process.versions.node}, ${loadAtStart} at the start, ${machineLoad()} at the end.\n\n\`\`\`\n${body}\n\`\`\`\n`
  appendFileSync(file, entry)
  process.stderr.write(`bench: appended the result to ${file}\n`)
}

/** Reads utime + stime of a process, in ms of CPU (from /proc; Linux only). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // clock ticks, USER_HZ = 100
}

/** Resident memory of a process in MiB (from /proc). */
export function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
}
