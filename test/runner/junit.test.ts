// The JUnit report: valid against the JUnit XML schema (xmllint + test/runner/fixtures/junit.xsd),
// one testsuite per plugin group, one testcase per plugin with its time, failure message and
// skipped reason, and text that needs escaping kept intact.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'
import {jsonReport, summaryTable, writeJunit} from '../../src/lib/testing/report.ts'
import type {RunReport} from '../../src/lib/testing/runner.ts'
import {assertValidJunit, JUNIT_XSD, junitCases} from './helpers.ts'

const report: RunReport = {
  startedAt: '2026-11-25T03:00:00.000Z',
  durationMs: 1234,
  summary: {total: 4, passed: 2, failed: 1, skipped: 1},
  results: [
    {name: 'connect', group: 'session', description: '', status: 'passed', message: 'connected', durationMs: 250, startedAt: '2026-11-25T03:00:00.000Z'},
    {name: 'create_cluster', group: 'cnpg', tool: 'create_postgres_cluster', description: '', status: 'failed', message: 'create_postgres_cluster returned an error: "<quota>" & more', error: 'line 1\nline 2 ]]> with a CDATA end', durationMs: 1500, startedAt: '2026-11-25T03:00:00.250Z'},
    {name: 'verify_cluster', group: 'cnpg', tool: 'list_postgres_clusters', description: '', status: 'skipped', message: 'depends on "create_cluster", which failed: … ünïcode', durationMs: 0, startedAt: '2026-11-25T03:00:01.750Z'},
    {name: 'ping', group: 'protocol', description: '', status: 'passed', message: 'pong', durationMs: 3, startedAt: '2026-11-25T03:00:00.300Z'},
  ],
}
const context = {transport: 'stdio' as const, target: 'kmcp serve --transport stdio', server: {name: 'kmcp', version: '0.1.0', protocolVersion: '2025-11-25'}}

describe('JUnit report', () => {
  test('validates against the JUnit schema and holds every result', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kmcp-junit-')), 'nested', 'report.xml')
    writeJunit(file, report, context)
    assertValidJunit(file)
    const cases = junitCases(file)
    assert.deepEqual(
      cases.map((entry) => [entry.suite, entry.classname, entry.name, entry.status]),
      [
        ['session', 'kmcp.session', 'connect', 'passed'],
        ['cnpg', 'kmcp.cnpg.create_postgres_cluster', 'create_cluster', 'failed'],
        ['cnpg', 'kmcp.cnpg.list_postgres_clusters', 'verify_cluster', 'skipped'],
        ['protocol', 'kmcp.protocol', 'ping', 'passed'],
      ],
    )
    assert.equal(cases[1].time, 1.5)
    assert.equal(cases[1].message, 'create_postgres_cluster returned an error: "<quota>" & more')
    assert.equal(cases[2].message, 'depends on "create_cluster", which failed: … ünïcode')
  })

  test('the schema check rejects what is not JUnit (so it can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmcp-junit-bad-'))
    const broken = {
      'no classname': '<testsuites tests="1" failures="0" errors="0"><testsuite name="s" tests="1" failures="0" errors="0" skipped="0" time="0" timestamp="2026-11-25T03:00:00"><testcase name="x" time="0"/></testsuite></testsuites>',
      'negative time': '<testsuites tests="1" failures="0" errors="0"><testsuite name="s" tests="1" failures="0" errors="0" skipped="0" time="-1" timestamp="2026-11-25T03:00:00"><testcase classname="c" name="x" time="0"/></testsuite></testsuites>',
      'two results': '<testsuites tests="1" failures="1" errors="0"><testsuite name="s" tests="1" failures="1" errors="0" skipped="0" time="0" timestamp="2026-11-25T03:00:00"><testcase classname="c" name="x" time="0"><failure/><skipped/></testcase></testsuite></testsuites>',
    }
    for (const [label, xml] of Object.entries(broken)) {
      const file = join(dir, `${label.replace(/ /g, '-')}.xml`)
      writeFileSync(file, xml)
      const result = spawnSync('xmllint', ['--noout', '--schema', JUNIT_XSD, file], {encoding: 'utf8'})
      assert.notEqual(result.status, 0, `${label} was accepted`)
    }
  })

  test('JSON report and summary table carry the same results', () => {
    const json = jsonReport(report, context) as {summary: Record<string, number>; tests: Array<{plugin: string; status: string}>}
    assert.deepEqual(json.summary, {total: 4, passed: 2, failed: 1, skipped: 1, duration_ms: 1234})
    assert.deepEqual(json.tests.map((entry) => `${entry.plugin}:${entry.status}`), ['connect:passed', 'create_cluster:failed', 'verify_cluster:skipped', 'ping:passed'])
    const table = summaryTable(report, 100)
    assert.match(table, /^RESULT\s+SUITE\s+PLUGIN\s+TIME\s+MESSAGE$/m)
    assert.match(table, /^FAIL\s+cnpg\s+create_cluster\s+1\.5 s\s+create_postgres_cluster returned an error/m)
    assert.match(table, /4 plugins: 2 passed, 1 failed, 1 skipped in 1\.2 s$/)
    for (const line of table.split('\n')) assert.ok(line.length <= 100, `line longer than the width: ${line}`)
  })
})
