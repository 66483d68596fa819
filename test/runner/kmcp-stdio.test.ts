// `kmcp test` over stdio against a real `kmcp serve` on the real API server (harness admin
// kubeconfig): the default server command and --server-command, every selection flag, external
// plugins (.js and .ts), reports, cleanup after failures, and usage errors.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {deleteNamespace, harness, kubeRequest} from '../support/kube.ts'
import {cnpgNamespace} from '../auth/helpers.ts'
import {kmcpCommand, REPO_ROOT} from '../support/mcp.ts'
import {assertValidJunit, byPlugin, describeReport, jsonReport, junitCases, kmcpServeCommand, runKmcpTest} from './helpers.ts'

let namespace: string
let admin: string
const scratch = mkdtempSync(join(tmpdir(), 'kmcp-test-stdio-'))

/** Names of the kmcp-test-* clusters left in the namespace. */
async function leftoverClusters(): Promise<string[]> {
  const list = await kubeRequest('admin', 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${namespace}/clusters`)
  assert.equal(list.status, 200, JSON.stringify(list.body))
  return (list.body.items as Array<{metadata: {name: string}}>).map((item) => item.metadata.name).filter((name) => name.startsWith('kmcp-test-'))
}

before(async () => {
  namespace = await cnpgNamespace('kmcp-test-stdio')
  admin = harness().kubeconfigFor('admin')
})

after(async () => {
  if (namespace) await deleteNamespace(namespace)
})

describe('kmcp test over stdio against kmcp serve', () => {
  test('default suites with the default server command: everything passes, the lifecycle cleans up, JUnit is valid', async () => {
    const junit = join(scratch, 'default.xml')
    const result = await runKmcpTest(['--kubeconfig', admin, '--namespace', namespace, '--json', '--junit', junit])
    const report = jsonReport(result)
    const why = describeReport(report)
    assert.equal(result.code, 0, why)
    assert.equal(report.summary.failed, 0, why)
    assert.equal(report.transport, 'stdio')
    assert.match(report.target, /serve --transport stdio --kubeconfig /)
    assert.equal(report.server?.name, 'kmcp')
    const tests = byPlugin(report)
    for (const name of ['connect', 'initialize', 'tool_schemas', 'tool_descriptions', 'tool_annotations', 'malformed_arguments', 'create_cluster', 'verify_cluster_created', 'delete_cluster', 'cleanup']) {
      assert.equal(tests.get(name)?.status, 'passed', `${name}\n${why}`)
    }
    // Only the suites asked for by default: no auth over stdio.
    assert.deepEqual([...new Set(report.tests.map((entry) => entry.suite))].sort(), ['cnpg', 'protocol', 'session'])
    assert.deepEqual(await leftoverClusters(), [])
    assertValidJunit(junit)
    const cases = junitCases(junit)
    assert.deepEqual(new Set(cases.map((entry) => entry.suite)), new Set(['session', 'protocol', 'cnpg']))
    assert.equal(cases.length, report.summary.total)
    assert.ok(cases.find((entry) => entry.name === 'create_cluster' && entry.classname === 'kmcp.cnpg.create_postgres_cluster' && entry.time > 0))
  })

  test('--server-command, --only and --concurrency 1: the plugin, its dependencies and the cleanup run, in order', async () => {
    const result = await runKmcpTest(['--server-command', kmcpServeCommand(admin), '--namespace', namespace, '--only', 'get_cluster_status', '--concurrency', '1', '--json'])
    const report = jsonReport(result)
    assert.equal(result.code, 0, describeReport(report))
    assert.deepEqual(report.tests.map((entry) => entry.plugin), ['connect', 'create_cluster', 'get_cluster_status', 'cleanup'])
    assert.match(byPlugin(report).get('cleanup')!.message, /^deleted leftovers: cluster kmcp-test-/)
    assert.deepEqual(await leftoverClusters(), [])
  })

  test('--skip delete_cluster: dependents report why, and the cleanup still deletes the cluster', async () => {
    const result = await runKmcpTest(['--kubeconfig', admin, '--namespace', namespace, '--suite', 'cnpg', '--skip', 'delete_cluster,create_cluster_dry_run', '--json'])
    const report = jsonReport(result)
    assert.equal(result.code, 0, describeReport(report))
    const tests = byPlugin(report)
    assert.equal(tests.has('delete_cluster'), false)
    assert.equal(tests.has('create_cluster_dry_run'), false)
    assert.match(tests.get('cleanup')!.message, /^deleted leftovers: cluster kmcp-test-/)
    assert.deepEqual(await leftoverClusters(), [])
  })

  test('--skip a dependency: its dependents are skipped with the reason, and skips do not fail the run', async () => {
    const result = await runKmcpTest(['--kubeconfig', admin, '--namespace', namespace, '--suite', 'cnpg', '--skip', 'create_cluster', '--json'])
    const report = jsonReport(result)
    assert.equal(result.code, 0, describeReport(report))
    const verify = byPlugin(report).get('verify_cluster_created')!
    assert.deepEqual([verify.status, verify.message], ['skipped', 'depends on "create_cluster", which was excluded with --skip'])
    assert.equal(byPlugin(report).get('create_role')?.status, 'skipped')
    assert.equal(byPlugin(report).get('list_clusters')?.status, 'passed')
  })

  test('a failure in the middle of the lifecycle: the exit code is 1 and the cleanup still deletes everything', async () => {
    const plugins = join(scratch, 'failing-plugins')
    mkdirSync(plugins, {recursive: true})
    writeFileSync(
      join(plugins, 'breaks.js'),
      `export default {
  name: 'breaks_after_create',
  group: 'cnpg',
  description: 'fails on purpose once the cluster exists',
  dependsOn: ['create_cluster'],
  runAfter: ['create_role'],
  test: async () => ({passed: false, message: 'failing on purpose', error: 'details of the failure'}),
}
`,
    )
    const result = await runKmcpTest(['--kubeconfig', admin, '--namespace', namespace, '--suite', 'cnpg', '--plugins', plugins, '--skip', 'delete_cluster,delete_role,delete_database', '--json'])
    const report = jsonReport(result)
    assert.equal(result.code, 1, describeReport(report))
    assert.equal(byPlugin(report).get('breaks_after_create')?.status, 'failed')
    const cleanup = byPlugin(report).get('cleanup')!
    assert.equal(cleanup.status, 'passed', describeReport(report))
    assert.match(cleanup.message, /database kmcptestdb.*role kmcptest.*cluster kmcp-test-/)
    assert.deepEqual(await leftoverClusters(), [])
    const roles = await kubeRequest('admin', 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${namespace}/databaseroles`)
    assert.deepEqual(roles.body.items, [], 'the DatabaseRole is gone too')
  })

  test('--plugins loads .js and .ts modules that use the session, the built-ins and their own ordering', async () => {
    const plugins = join(scratch, 'external')
    mkdirSync(plugins, {recursive: true})
    writeFileSync(
      join(plugins, 'a-counting.ts'),
      `interface Session { callTool(name: string, args?: Record<string, unknown>): Promise<{isError?: boolean; structuredContent?: {count?: number}}>; namespace?: string; shared: Map<string, unknown> }
export const plugins = [
  {
    name: 'count_clusters',
    tool: 'list_postgres_clusters',
    description: 'counts clusters through the MCP session',
    dependsOn: ['tools_list'],
    test: async (session: Session) => {
      const result = await session.callTool('list_postgres_clusters', {namespace: session.namespace})
      session.shared.set('count', result.structuredContent?.count)
      return {passed: !result.isError, message: 'counted ' + String(result.structuredContent?.count)}
    },
  },
]
`,
    )
    writeFileSync(
      join(plugins, 'b-after.mjs'),
      `export default [
  {name: 'reads_shared', group: 'extra', description: 'runs after count_clusters', runAfter: ['count_clusters'],
    test: async (session) => ({passed: session.shared.get('count') === 0, message: 'saw ' + session.shared.get('count')})},
  {name: 'needs_missing_tool', group: 'extra', tool: 'no_such_tool', description: 'skipped: the server lacks the tool', test: async () => ({passed: true, message: 'unreachable'})},
  {name: 'throws', group: 'extra', description: 'a plugin that throws', needsConnection: false, test: async () => { throw new RangeError('plugin bug') }},
]
`,
    )
    const junit = join(scratch, 'external.xml')
    const result = await runKmcpTest(['--kubeconfig', admin, '--namespace', namespace, '--plugins', plugins, '--suite', 'a-counting,extra', '--json', '--junit', junit])
    const report = jsonReport(result)
    const why = describeReport(report)
    assert.equal(result.code, 1, why)
    const tests = byPlugin(report)
    assert.deepEqual([tests.get('count_clusters')?.status, tests.get('count_clusters')?.suite, tests.get('count_clusters')?.message], ['passed', 'a-counting', 'counted 0'], why)
    assert.deepEqual([tests.get('reads_shared')?.status, tests.get('reads_shared')?.message], ['passed', 'saw 0'], why)
    assert.deepEqual([tests.get('needs_missing_tool')?.status, tests.get('needs_missing_tool')?.message], ['skipped', 'tool not offered by this server'])
    assert.deepEqual([tests.get('throws')?.status, tests.get('throws')?.message], ['failed', 'threw RangeError: plugin bug'])
    assert.ok(tests.has('tools_list'), 'the built-in dependency was pulled in')
    assertValidJunit(junit)
    assert.deepEqual(junitCases(junit).find((entry) => entry.name === 'needs_missing_tool')?.message, 'tool not offered by this server')
  })

  test('--context reaches the default server command: a user without rights gets the 403 in the report', async () => {
    // The harness kubeconfig holds one context per user; "nobody" has no RBAC bindings.
    const result = await runKmcpTest(['--kubeconfig', admin, '--context', 'nobody', '--namespace', namespace, '--only', 'create_cluster', '--json'])
    const report = jsonReport(result)
    assert.equal(result.code, 1, describeReport(report))
    assert.match(report.target, / --context nobody$/)
    const create = byPlugin(report).get('create_cluster')!
    assert.equal(create.status, 'failed')
    assert.match(`${create.message}\n${create.error}`, /403|[Ff]orbidden/)
    assert.match(byPlugin(report).get('cleanup')!.message, /nothing left to delete/)
  })

  test('--list shows every plugin with its ordering and runs nothing', async () => {
    const result = await runKmcpTest(['--list', '--server-command', '/nonexistent/never-started'])
    assert.equal(result.code, 0, result.stderr)
    for (const name of ['connect', 'tool_schemas', 'create_cluster', 'cleanup', 'unauthenticated_challenge']) assert.match(result.stdout, new RegExp(`\\b${name}\\b`))
    assert.match(result.stdout, /verify_cluster_created .*\(after: connect create_cluster\)/)
  })

  test('plain progress lines when stdout is not a terminal, then the summary table', async () => {
    const result = await runKmcpTest(['--kubeconfig', admin, '--only', 'ping'])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    assert.match(result.stdout, /^PASS session\/connect \(\d+(\.\d)? m?s\) connected over stdio to kmcp /m)
    assert.match(result.stdout, /^PASS protocol\/ping /m)
    assert.match(result.stdout, /^RESULT\s+SUITE\s+PLUGIN\s+TIME\s+MESSAGE$/m)
    assert.match(result.stdout, /2 plugins: 2 passed, 0 failed, 0 skipped in /)
    assert.doesNotMatch(result.stdout, /\x1b\[/, 'no terminal escapes in a pipe')
  })

  test('live progress on a terminal: a redrawn status line and coloured results', async () => {
    // `script` runs the command on a pseudo-terminal, as a developer's shell would.
    const command = kmcpCommand('test', '--kubeconfig', admin, '--only', 'ping')
    const line = [command.command, ...command.args].map((word) => `'${word}'`).join(' ')
    const result = spawnSync('script', ['-qec', line, '/dev/null'], {cwd: REPO_ROOT, encoding: 'utf8', env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm'}, timeout: 60_000})
    assert.equal(result.error, undefined, 'the util-linux "script" command is needed for this test')
    assert.equal(result.status, 0, result.stdout)
    assert.match(result.stdout, /\r\x1b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \d+\/2 done/, 'the status line is redrawn in place')
    assert.match(result.stdout, /\x1b\[32mPASS protocol\/ping .*\x1b\[0m/, 'a finished plugin gets its coloured line')
    assert.match(result.stdout, /2 plugins: 2 passed, 0 failed, 0 skipped/)
  })

  test('usage errors exit with 2 and say what is wrong', async () => {
    const cycle = join(scratch, 'cycle')
    mkdirSync(cycle, {recursive: true})
    writeFileSync(join(cycle, 'c.js'), `export const plugins = [
  {name: 'x', description: '', dependsOn: ['y'], test: async () => ({passed: true, message: ''})},
  {name: 'y', description: '', runAfter: ['x'], test: async () => ({passed: true, message: ''})},
]
`)
    const cases: Array<[string[], RegExp]> = [
      [['--only', 'no_such_plugin'], /no plugin named "no_such_plugin"/],
      [['--suite', 'nope'], /no suite named "nope"; suites: .*protocol/],
      [['--plugins', cycle, '--suite', 'c'], /plugin dependency cycle: (x → y → x|y → x → y)/],
      [['--plugins', join(scratch, 'does-not-exist')], /cannot read --plugins directory .*ENOENT/],
      [['--token', 'abc'], /tokens .* are for --transport http/],
      [['--transport', 'http'], /--transport http needs --url/],
      [['--server-command', 'kmcp "unbalanced'], /unbalanced " quote/],
    ]
    for (const [args, message] of cases) {
      const result = await runKmcpTest(args)
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
      // oclif wraps long error messages over lines prefixed with "›".
      assert.match(result.stderr.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' '), message, args.join(' '))
      assert.equal(result.stdout, '', 'no report when nothing ran')
    }
  })
})
