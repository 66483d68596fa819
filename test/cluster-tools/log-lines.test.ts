// Parsing of CloudNativePG instance logs (pure logic): JSON lines as the instance manager writes
// them (level, ts, logger, msg, logging_pod, record with PostgreSQL's csvlog fields), PostgreSQL's
// plain stderr lines from before its logging collector runs, and kubelet timestamps.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {levelOfSeverity, matchesFilter, newestFirst, parseLogText, parseSince, renderLogEntry} from '../../src/lib/tools/cnpg/log-lines.ts'

const pod = 'diag-db-1'
const line = (stamp: string, object: Record<string, unknown>) => `${stamp} ${JSON.stringify(object)}`
const record = (fields: Record<string, string>) => ({
  log_time: '2026-12-01 14:20:02.001 UTC', process_id: '27', session_id: '674c7f22.1b', session_line_num: '1', session_start_time: '2026-12-01 14:20:01 UTC', transaction_id: '0', query_id: '0', ...fields,
})

const SAMPLE = [
  line('2026-12-01T14:20:01.000000001Z', {level: 'info', ts: '2026-12-01T14:20:01.000000001Z', msg: 'Starting CloudNativePG Instance Manager', logger: 'instance-manager', logging_pod: pod, version: '1.30.0'}),
  line('2026-12-01T14:20:02.001000000Z', {level: 'info', ts: '2026-12-01T14:20:02.001Z', logger: 'postgres', msg: 'record', logging_pod: pod, record: record({error_severity: 'LOG', sql_state_code: '00000', message: 'database system is ready to accept connections', backend_type: 'postmaster'})}),
  line('2026-12-01T14:21:00.000000000Z', {level: 'info', ts: '2026-12-01T14:21:00Z', logger: 'postgres', msg: 'record', logging_pod: pod, record: record({error_severity: 'LOG', sql_state_code: '22023', message: 'invalid value for parameter "max_connections": "lots"', backend_type: 'postmaster'})}),
  line('2026-12-01T14:21:00.000100000Z', {level: 'info', ts: '2026-12-01T14:21:00.0001Z', logger: 'postgres', msg: 'record', logging_pod: pod, record: record({error_severity: 'FATAL', sql_state_code: 'F0000', message: 'configuration file "/var/lib/postgresql/data/pgdata/postgresql.conf" contains errors', backend_type: 'postmaster'})}),
  line('2026-12-01T14:22:00.000000000Z', {level: 'info', ts: '2026-12-01T14:22:00Z', logger: 'postgres', msg: 'record', logging_pod: pod, record: record({error_severity: 'FATAL', sql_state_code: '28P01', user_name: 'app', database_name: 'app', message: 'password authentication failed for user "app"', detail: 'Connection matched file "/var/lib/postgresql/data/pgdata/pg_hba.conf" line 5: "host all all all scram-sha-256"', backend_type: 'client backend'})}),
  line('2026-12-01T14:23:00.000000000Z', {level: 'info', ts: '2026-12-01T14:23:00Z', logger: 'wal-archive', msg: 'Archived WAL file', logging_pod: pod, walName: 'pg_wal/000000010000000000000003', elapsedWalTime: 0.31}),
  line('2026-12-01T14:24:00.000000000Z', {level: 'error', ts: '2026-12-01T14:24:00Z', logger: 'wal-archive', msg: 'failed to run wal-archive command', logging_pod: pod, error: 'unexpected failure invoking barman-cloud-wal-archive: exit status 4'}),
  '2026-12-01T14:25:00.000000000Z this line is not JSON',
].join('\n')

describe('CNPG log lines', () => {
  test('PostgreSQL records are summarised: severity, SQLSTATE, message, detail; 00000 is dropped', () => {
    const entries = parseLogText(SAMPLE, pod)
    assert.equal(entries.length, 8)
    const ready = entries[1]
    assert.deepEqual(ready.postgres && {severity: ready.postgres.severity, sqlstate: ready.postgres.sqlstate}, {severity: 'LOG', sqlstate: undefined})
    assert.equal(ready.message, 'database system is ready to accept connections')
    assert.equal(ready.level, 'info')
    const badParameter = entries[2]
    assert.equal(badParameter.postgres?.sqlstate, '22023')
    assert.equal(badParameter.postgres?.message, 'invalid value for parameter "max_connections": "lots"')
    const auth = entries[4]
    assert.equal(auth.postgres?.severity, 'FATAL')
    assert.equal(auth.postgres?.sqlstate, '28P01')
    assert.match(auth.postgres?.detail ?? '', /pg_hba\.conf" line 5/)
    assert.equal(auth.postgres?.user, 'app')
    assert.equal(auth.postgres?.database, 'app')
  })

  test('CNPG logs every record at "info": the PostgreSQL severity raises the level', () => {
    const entries = parseLogText(SAMPLE, pod)
    assert.equal(entries[3].level, 'error', 'FATAL record logged at info is an error')
    assert.equal(entries[2].level, 'info', 'a LOG record stays info')
    assert.equal(levelOfSeverity('PANIC'), 'error')
    assert.equal(levelOfSeverity('WARNING'), 'warning')
    assert.equal(levelOfSeverity('DEBUG2'), 'debug')
    assert.equal(levelOfSeverity('NOTICE'), 'info')
  })

  test('instance manager lines keep logger, message and the attached error; non-JSON lines are kept', () => {
    const entries = parseLogText(SAMPLE, pod)
    assert.equal(entries[0].logger, 'instance-manager')
    assert.equal(entries[0].time, '2026-12-01T14:20:01.000Z')
    assert.equal(entries[6].level, 'error')
    assert.equal(entries[6].error, 'unexpected failure invoking barman-cloud-wal-archive: exit status 4')
    assert.equal(entries[7].message, 'this line is not JSON')
    assert.equal(entries[7].time, '2026-12-01T14:25:00.000Z', 'the kubelet timestamp dates lines without ts')
  })

  test('PostgreSQL stderr lines (before the logging collector) become records; HINT/DETAIL attach to their message', () => {
    const text = [
      JSON.stringify({level: 'info', ts: '2026-12-01T14:30:00.5Z', logger: 'postgres', msg: '2026-12-01 14:30:00.500 UTC [25] LOG:  invalid value for parameter "shared_buffers": "banana"', pipe: 'stderr', logging_pod: pod}),
      JSON.stringify({level: 'info', ts: '2026-12-01T14:30:00.5Z', logger: 'postgres', msg: '2026-12-01 14:30:00.500 UTC [25] HINT:  Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".', pipe: 'stderr', logging_pod: pod}),
      JSON.stringify({level: 'info', ts: '2026-12-01T14:30:00.6Z', logger: 'postgres', msg: '2026-12-01 14:30:00.600 UTC [25] FATAL:  configuration file "/var/lib/postgresql/data/pgdata/postgresql.conf" contains errors', pipe: 'stderr', logging_pod: pod}),
      '2026-12-01 14:30:01.000 UTC [31] LOG:  database system is shut down',
      // As the initdb job of CNPG 1.30 logs a bad parameter: pg_ctl's progress runs into the line.
      JSON.stringify({level: 'info', ts: '2026-12-01T15:31:48.208150622Z', logger: 'pg_ctl', msg: 'waiting for server to start....2026-12-01 15:31:48.208 UTC [30] LOG:  invalid value for parameter "max_connections": "lots"', pipe: 'stdout', logging_pod: 'diag-bad-1-initdb'}),
    ].join('\n')
    const entries = parseLogText(text, pod)
    assert.equal(entries.length, 4)
    assert.deepEqual([entries[3].logger, entries[3].postgres?.severity, entries[3].postgres?.message, entries[3].pod], ['pg_ctl', 'LOG', 'invalid value for parameter "max_connections": "lots"', pod])
    assert.equal(entries[0].postgres?.severity, 'LOG')
    assert.match(entries[0].postgres?.hint ?? '', /Valid units/)
    assert.equal(entries[1].postgres?.severity, 'FATAL')
    assert.equal(entries[1].level, 'error')
    assert.equal(entries[2].logger, 'postgres')
    assert.equal(entries[2].time, '2026-12-01T14:30:01.000Z')
  })

  test('multi-line output is shown on one line, cut at 500 characters; the entry keeps it whole', () => {
    const long = `The files belonging to this database system will be owned by user "postgres".\n${'creating subdirectories ... ok\n'.repeat(30)}`
    const [entry] = parseLogText(JSON.stringify({level: 'info', ts: '2026-12-01T15:31:48Z', logger: 'initdb', msg: long}), pod)
    const text = renderLogEntry(entry)
    assert.doesNotMatch(text, /\n/)
    assert.match(text, /postgres"\. ⏎ creating subdirectories \.\.\. ok ⏎ /)
    assert.ok(text.length < 600 && text.endsWith('…'))
    assert.equal(entry.message, long)
  })

  test('epoch-seconds timestamps of older releases are understood', () => {
    const [entry] = parseLogText(JSON.stringify({level: 'info', ts: 1619781249.7188137, logger: 'postgres', msg: 'record', record: {error_severity: 'LOG', message: 'checkpoint starting: time'}}), pod)
    assert.equal(entry.time, '2021-04-30T11:14:09.718Z')
    assert.equal(entry.pod, pod)
  })

  test('filters: minimum level, logger, text (also in detail), since', () => {
    const entries = parseLogText(SAMPLE, pod)
    const pick = (filter: Parameters<typeof matchesFilter>[1]) => entries.filter((e) => matchesFilter(e, filter)).map((e) => e.message)
    assert.deepEqual(pick({minLevel: 'error'}), ['configuration file "/var/lib/postgresql/data/pgdata/postgresql.conf" contains errors', 'password authentication failed for user "app"', 'failed to run wal-archive command'])
    assert.deepEqual(pick({logger: 'WAL-ARCHIVE'}), ['Archived WAL file', 'failed to run wal-archive command'])
    assert.deepEqual(pick({contains: 'pg_hba'}), ['password authentication failed for user "app"'])
    assert.deepEqual(pick({contains: 'exit status 4'}), ['failed to run wal-archive command'])
    assert.equal(pick({sinceMs: Date.parse('2026-12-01T14:23:30Z')}).length, 2)
  })

  test('newest first across pods; render shows severity, SQLSTATE, detail and hint on one line', () => {
    const other = parseLogText(line('2026-12-01T14:21:30Z', {level: 'info', ts: '2026-12-01T14:21:30Z', logger: 'instance-manager', msg: 'replica is streaming', logging_pod: 'diag-db-2'}), 'diag-db-2')
    const sorted = newestFirst([...parseLogText(SAMPLE, pod), ...other])
    assert.equal(sorted[0].message, 'this line is not JSON')
    assert.equal(sorted.at(-1)?.message, 'Starting CloudNativePG Instance Manager')
    assert.ok(sorted.findIndex((e) => e.pod === 'diag-db-2') < sorted.findIndex((e) => e.postgres?.sqlstate === '22023'))
    const text = renderLogEntry(sorted.find((e) => e.postgres?.sqlstate === '28P01')!)
    assert.match(text, /^- 2026-12-01T14:22:00.000Z diag-db-1 postgres ERROR FATAL 28P01: password authentication failed for user "app" \| detail: Connection matched/)
    assert.match(text, /session: app@app/)
  })

  test('since: durations and RFC 3339 times; nonsense is explained', () => {
    const now = Date.parse('2026-12-01T15:00:00Z')
    assert.deepEqual(parseSince('15m', now), {sinceMs: now - 15 * 60_000})
    assert.deepEqual(parseSince('1h30m', now), {sinceMs: now - 90 * 60_000})
    assert.deepEqual(parseSince('2d', now), {sinceMs: now - 2 * 86_400_000})
    assert.deepEqual(parseSince('2026-12-01T14:00:00Z', now), {sinceMs: Date.parse('2026-12-01T14:00:00Z')})
    assert.match((parseSince('yesterday', now) as {problem: string}).problem, /neither a duration/)
    assert.match((parseSince('0m', now) as {problem: string}).problem, /longer than zero/)
  })
})
