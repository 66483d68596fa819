// `kmcp test` against MCP servers that misbehave: the protocol suite must catch a server that
// breaks the rules, and a hanging or dying server or an unreachable URL must end as failed or
// skipped testcases with the reason, a finished run, a written report and a non-zero exit code.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createServer} from 'node:net'
import {assertValidJunit, byPlugin, describeReport, faultyServerCommand, jsonReport, junitCases, runKmcpTest} from './helpers.ts'

const junitFile = (name: string) => join(mkdtempSync(join(tmpdir(), 'kmcp-test-faults-')), `${name}.xml`)

describe('kmcp test against faulty servers', {concurrency: true}, () => {
  test('the protocol suite catches a server that breaks the rules', async () => {
    const junit = junitFile('broken')
    const result = await runKmcpTest(['--server-command', faultyServerCommand('broken'), '--suite', 'protocol', '--json', '--junit', junit])
    const report = jsonReport(result)
    const tests = byPlugin(report)
    const why = describeReport(report)
    assert.equal(result.code, 1, why)
    // What works on that server passes...
    for (const name of ['connect', 'initialize', 'capabilities', 'tools_list', 'ping']) assert.equal(tests.get(name)?.status, 'passed', `${name}\n${why}`)
    // ...and every fault is a failure that names the tool and the problem.
    const expectations: Record<string, RegExp> = {
      tool_schemas: /undocumented: inputSchema .*properties\/query\/type/,
      tool_descriptions: /undocumented: no description/,
      tool_annotations: /undocumented: no annotations/,
    }
    for (const [name, detail] of Object.entries(expectations)) {
      assert.equal(tests.get(name)?.status, 'failed', `${name}\n${why}`)
      assert.match(tests.get(name)?.error ?? '', detail)
      assert.doesNotMatch(tests.get(name)?.error ?? '', /read_thing/, 'the well-formed tool is not blamed')
    }
    assert.equal(tests.get('unknown_method')?.status, 'failed')
    assert.match(tests.get('unknown_method')!.message, /answered an unknown method with a result/)
    assert.equal(tests.get('malformed_arguments')?.status, 'failed')
    assert.match(tests.get('malformed_arguments')!.message, /read_thing accepted \{"count":"not-a-number"\} although "count" must be of type number/)
    assert.equal(tests.get('tool_results')?.status, 'failed')
    assert.match(tests.get('tool_results')!.error ?? '', /read_thing: .*Structured content does not match the tool's output schema/)
    assert.deepEqual(report.server, {name: 'faulty-fixture', version: '0.0.1', protocolVersion: '2025-11-25'})

    assertValidJunit(junit)
    const cases = junitCases(junit)
    assert.equal(cases.length, report.summary.total)
    assert.equal(cases.filter((entry) => entry.status === 'failed').length, report.summary.failed)
    assert.equal(cases.find((entry) => entry.name === 'tool_descriptions')?.message, tests.get('tool_descriptions')?.message)
  })

  test('a server that never answers: connect fails with the timeout, the rest is skipped, the report is written', async () => {
    const junit = junitFile('hang')
    const result = await runKmcpTest(['--server-command', faultyServerCommand('hang'), '--suite', 'protocol', '--timeout', '2', '--json', '--junit', junit])
    const report = jsonReport(result)
    assert.equal(result.code, 1)
    const connect = byPlugin(report).get('connect')!
    assert.equal(connect.status, 'failed')
    assert.equal(connect.message, 'timed out after 2 s (raise the limit with --timeout)')
    const others = report.tests.filter((entry) => entry.plugin !== 'connect')
    assert.ok(others.length >= 9)
    for (const entry of others) {
      assert.equal(entry.status, 'skipped', entry.plugin)
      assert.match(entry.message, /^depends on "(connect|[a-z_]+)", which (failed|was skipped)/)
    }
    assertValidJunit(junit)
    assert.equal(junitCases(junit).filter((entry) => entry.status === 'skipped').length, others.length)
  })

  test('a server that dies mid-run: the call in flight fails with the cause, later plugins are skipped', async () => {
    const junit = junitFile('die')
    const result = await runKmcpTest(['--server-command', faultyServerCommand('die'), '--suite', 'protocol', '--concurrency', '1', '--json', '--junit', junit])
    const report = jsonReport(result)
    const why = describeReport(report)
    assert.equal(result.code, 1, why)
    const tests = byPlugin(report)
    assert.equal(tests.get('tools_list')?.status, 'passed', why)
    const died = tests.get('malformed_arguments')!
    assert.equal(died.status, 'failed', why)
    assert.match(died.error ?? '', /The MCP connection was lost: the server process ended/)
    assert.match(died.error ?? '', /exiting on purpose in the middle of a call/, 'the server\'s last stderr lines are in the report')
    const after = tests.get('tool_results')!
    assert.equal(after.status, 'skipped', why)
    assert.match(after.message, /^no MCP connection: the server process ended/)
    assertValidJunit(junit)
  })

  test('an unreachable URL: connect fails with the network error, everything else is skipped', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address() as {port: number}
        server.close(() => resolve(address.port))
      })
    })
    const junit = junitFile('unreachable')
    const result = await runKmcpTest(['--transport', 'http', '--url', `http://127.0.0.1:${port}/mcp`, '--json', '--junit', junit])
    const report = jsonReport(result)
    assert.equal(result.code, 1)
    const connect = byPlugin(report).get('connect')!
    assert.equal(connect.status, 'failed')
    assert.match(connect.message, /could not connect to the MCP server: .*ECONNREFUSED/)
    assert.equal(report.summary.failed, 1)
    for (const entry of report.tests.filter((test) => !['connect', 'cleanup'].includes(test.plugin))) assert.equal(entry.status, 'skipped', entry.plugin)
    assert.deepEqual([byPlugin(report).get('cleanup')?.status, byPlugin(report).get('cleanup')?.message], ['passed', 'nothing left to delete'])
    assert.equal(report.transport, 'http')
    assert.equal(report.target, `http://127.0.0.1:${port}/mcp`)
    assertValidJunit(junit)
  })

  test('an HTTP server that accepts connections and never answers: connect times out, the run finishes', async () => {
    const sockets = new Set<import('node:net').Socket>()
    const silent = createServer((socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const port = (silent.address() as {port: number}).port
      const result = await runKmcpTest(['--url', `http://127.0.0.1:${port}/mcp`, '--suite', 'protocol', '--timeout', '2', '--json'])
      const report = jsonReport(result)
      assert.equal(result.code, 1)
      assert.deepEqual([byPlugin(report).get('connect')?.status, byPlugin(report).get('connect')?.message], ['failed', 'timed out after 2 s (raise the limit with --timeout)'])
      assert.equal(report.summary.skipped, report.summary.total - 1)
    } finally {
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
  })

  test('a command that does not exist: connect fails with the reason', async () => {
    const result = await runKmcpTest(['--server-command', '/nonexistent/mcp-server --flag', '--suite', 'protocol', '--json'])
    const report = jsonReport(result)
    assert.equal(result.code, 1)
    assert.match(byPlugin(report).get('connect')!.message, /could not connect to the MCP server: .*ENOENT/)
  })
})
