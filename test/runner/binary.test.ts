// The compiled single executable runs `kmcp test` the way the project's CI does: dist/kmcp test
// against dist/kmcp serve over stdio on the real API server, and against kmcp serve over HTTP with
// OAuth on (real OpenID provider and redis), keeping the JUnit files in test-results/. Also
// checks that external plugins (loaded by dynamic import inside the binary) work there.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {deleteNamespace, harness} from '../support/kube.ts'
import {cnpgNamespace, obtainTokens, startAuthStack} from '../auth/helpers.ts'
import {REPO_ROOT} from '../support/mcp.ts'
import {assertValidJunit, BINARY, byPlugin, describeReport, jsonReport, junitCases, runKmcpTest} from './helpers.ts'

const CI_JUNIT = resolve(REPO_ROOT, 'test-results/kmcp-test-stdio.xml')
const CI_HTTP_JUNIT = resolve(REPO_ROOT, 'test-results/kmcp-test-http.xml')
let namespace: string

before(async () => {
  assert.ok(existsSync(BINARY), `${BINARY} is missing: build it with "node_modules/.bin/bun scripts/build-binary.ts" (npm test does)`)
  namespace = await cnpgNamespace('kmcp-test-binary')
})

after(async () => {
  if (namespace) await deleteNamespace(namespace)
})

describe('dist/kmcp test', () => {
  test('the CI run: stdio against dist/kmcp serve, everything passes, the JUnit file is kept', async () => {
    rmSync(CI_JUNIT, {force: true})
    const serverCommand = `${BINARY} serve --transport stdio --kubeconfig ${harness().kubeconfigFor('admin')}`
    const result = await runKmcpTest(['--transport', 'stdio', '--server-command', serverCommand, '--namespace', namespace, '--junit', CI_JUNIT], {binary: BINARY})
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
    assert.match(result.stdout, /plugins: \d+ passed, 0 failed, \d+ skipped in /)
    assert.match(result.stdout, new RegExp(`JUnit report written to ${CI_JUNIT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
    assertValidJunit(CI_JUNIT)
    const cases = junitCases(CI_JUNIT)
    assert.deepEqual(new Set(cases.map((entry) => entry.suite)), new Set(['session', 'protocol', 'cnpg']))
    assert.equal(cases.filter((entry) => entry.status === 'failed').length, 0)
    assert.ok(cases.some((entry) => entry.name === 'create_cluster' && entry.status === 'passed'))
    assert.ok(cases.some((entry) => entry.name === 'cleanup' && entry.status === 'passed'))
  })

  test('the CI run over HTTP with OAuth: token file, every suite including auth, JUnit kept', async () => {
    const stack = await startAuthStack()
    try {
      const {access_token: token} = await obtainTokens(stack.publicUrl)
      const tokenFile = join(mkdtempSync(join(tmpdir(), 'kmcp-test-binary-token-')), 'token')
      writeFileSync(tokenFile, token, {mode: 0o600})
      rmSync(CI_HTTP_JUNIT, {force: true})
      const result = await runKmcpTest(['--transport', 'http', '--url', stack.replicas[0].url, '--token-file', tokenFile, '--namespace', namespace, '--junit', CI_HTTP_JUNIT], {binary: BINARY})
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
      assert.ok(!result.stdout.includes(token) && !result.stderr.includes(token), 'the token was printed')
      assertValidJunit(CI_HTTP_JUNIT)
      const cases = junitCases(CI_HTTP_JUNIT)
      assert.deepEqual(new Set(cases.map((entry) => entry.suite)), new Set(['session', 'protocol', 'cnpg', 'auth']))
      assert.equal(cases.filter((entry) => entry.status === 'failed').length, 0)
      assert.ok(cases.some((entry) => entry.name === 'token_accepted' && entry.status === 'passed'))
    } finally {
      await stack.stop()
    }
  })

  test('default server command, external .js and .ts plugins, skipped reasons in JSON and JUnit', async () => {
    const plugins = mkdtempSync(join(tmpdir(), 'kmcp-test-binary-plugins-'))
    mkdirSync(plugins, {recursive: true})
    writeFileSync(join(plugins, 'one.js'), `export default {name: 'js_plugin', description: '', test: async (session) => ({passed: (await session.tools()).length > 0, message: 'js ok'})}\n`)
    writeFileSync(join(plugins, 'two.ts'), `const plugin: {name: string; description: string; tool: string; test: () => Promise<{passed: boolean; message: string}>} = {name: 'ts_plugin', description: '', tool: 'no_such_tool', test: async () => ({passed: true, message: 'ts ok'})}\nexport default plugin\n`)
    const junit = join(plugins, 'report.xml')
    const result = await runKmcpTest(['--kubeconfig', harness().kubeconfigFor('admin'), '--plugins', plugins, '--suite', 'one,two,protocol', '--skip', 'initialize', '--json', '--junit', junit], {binary: BINARY})
    const report = jsonReport(result)
    const why = describeReport(report)
    assert.equal(result.code, 0, why)
    assert.match(report.target, /dist\/kmcp serve --transport stdio --kubeconfig /, 'the default server command is the binary itself')
    const tests = byPlugin(report)
    assert.deepEqual([tests.get('js_plugin')?.status, tests.get('js_plugin')?.message], ['passed', 'js ok'], why)
    assert.deepEqual([tests.get('ts_plugin')?.status, tests.get('ts_plugin')?.message], ['skipped', 'tool not offered by this server'], why)
    assert.equal(tests.get('capabilities')?.message, 'depends on "initialize", which was excluded with --skip')
    assertValidJunit(junit)
    const cases = junitCases(junit)
    assert.equal(cases.find((entry) => entry.name === 'ts_plugin')?.message, 'tool not offered by this server')
    assert.equal(cases.find((entry) => entry.name === 'capabilities')?.message, 'depends on "initialize", which was excluded with --skip')
  })
})
