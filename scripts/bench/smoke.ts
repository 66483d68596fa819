// Runs every benchmark script in scripts/bench/ with --smoke (a few seconds each, numbers not
// recorded) and fails if any of them fails, so a benchmark cannot silently stop working.
//   node scripts/bench/smoke.ts      (npm run bench:smoke; .ci/run runs it after the tests)
// Needs what the benchmarks need: dist/kmcp and the kube-apiserver harness (npm test builds both).
import {spawnSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {REPO_ROOT} from './report.ts'

/** Files here that are not benchmarks. */
const HELPERS = new Set(['report.ts', 'smoke.ts', 'bench-harness.ts', 'go-peer.ts'])
const dir = join(REPO_ROOT, 'scripts/bench')
const scripts = readdirSync(dir).filter((file) => file.endsWith('.ts') && !HELPERS.has(file)).sort()
const failed: string[] = []
for (const script of scripts) {
  const started = Date.now()
  process.stderr.write(`bench:smoke: ${script}\n`)
  const result = spawnSync(process.execPath, ['--no-warnings', join(dir, script), '--smoke'], {cwd: REPO_ROOT, stdio: 'inherit', timeout: 300_000})
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  if (result.status === 0) process.stderr.write(`bench:smoke: ${script} ok (${seconds} s)\n`)
  else {
    failed.push(script)
    process.stderr.write(`bench:smoke: ${script} FAILED (${result.error ? String(result.error) : `exit ${result.status ?? result.signal}`}, ${seconds} s)\n`)
  }
}
if (failed.length > 0) {
  process.stderr.write(`bench:smoke: ${failed.length} of ${scripts.length} benchmark(s) broken: ${failed.join(', ')}\n`)
  process.exit(1)
}
process.stderr.write(`bench:smoke: all ${scripts.length} benchmarks ran\n`)
