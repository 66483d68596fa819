// Property-based fuzzing of every cluster tool's parameters through a real MCP client.
// Invalid input must give a clear isError result naming the field, never crash the server, and
// never reach Kubernetes. The last is proven with a session whose kubeconfig points at a port where
// nothing listens: any request would come back as "Could not reach the Kubernetes API server".
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import fc from 'fast-check'
import {parse, stringify} from 'yaml'
import {createNamespace, harness} from '../support/kube.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {cnpg, getJson, waitForCnpgStorage} from './helpers.ts'

const RUNS = Number(process.env.KMCP_FUZZ_RUNS ?? 30)
const UNREACHABLE = /Could not reach the Kubernetes API server/

// Values of the wrong JSON type for any field.
const notString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), {maxLength: 2}), fc.dictionary(fc.string({maxLength: 3}), fc.string(), {maxKeys: 2}))
const notNumber = fc.oneof(fc.string({maxLength: 8}), fc.boolean(), fc.constant(null), fc.array(fc.integer(), {maxLength: 2}))
const notBoolean = fc.oneof(fc.string({maxLength: 8}), fc.integer(), fc.constant(null), fc.dictionary(fc.string({maxLength: 3}), fc.boolean(), {maxKeys: 2}))

/** Strings that are never an RFC 1123 name (or, with dots, a DNS subdomain): a forbidden character, a bad edge, or too long. */
const badName = (maxLength: number, dotsAllowed = false) =>
  fc.oneof(
    notString,
    fc.constant(''),
    fc.tuple(fc.stringMatching(/^[a-z0-9]{0,5}$/), fc.constantFrom(...['_', '.', ' ', 'A', 'é', '/', ':', '\n', '*'].filter((c) => !dotsAllowed || c !== '.')), fc.stringMatching(/^[a-z0-9]{0,5}$/)).map(([a, bad, b]) => `x${a}${bad}${b}x`),
    fc.stringMatching(/^[a-z0-9]{1,10}$/).map((s) => `-${s}`),
    fc.stringMatching(/^[a-z0-9]{1,10}$/).map((s) => `${s}-`),
    fc.constant('a'.repeat(maxLength + 1)),
  )
const badInt = (min: number, max: number) => fc.oneof(notNumber, fc.integer({max: min - 1}), fc.integer({min: max + 1}), fc.double({min, max, noInteger: true, noNaN: true}))
const badEnum = (allowed: string[]) => fc.oneof(notString, fc.string({maxLength: 12}).filter((s) => !allowed.includes(s)))
const badQuantity = fc.oneof(
  notString,
  fc.constantFrom('', '10 gigs', 'Gi', 'abc', '-1Gi', '0', '500m', '1Zi', '1e99', '10gb', '1.5.5Gi', '1024', '+'),
  fc.tuple(fc.integer({min: 1, max: 999}), fc.constantFrom('x', 'GB', 'gi', ' Gi', '/', 'Gi ')).map(([n, unit]) => `${n}${unit}`),
)
const badCron = fc.oneof(
  notString,
  fc.constantFrom('', '0 2 * * *', '* * * * * * *', '61 0 0 * * *', '0 60 * * * *', '0 0 24 * * *', '0 0 0 0 * *', '0 0 0 * 13 *', '0 0 0 * * 7', '@sometimes', '@every', 'every day'),
  fc.array(fc.constantFrom('*', '1', '5'), {minLength: 1, maxLength: 4}).map((fields) => fields.join(' ')),
)
const badTime = fc.oneof(notString, fc.constantFrom('', '2026-11-24', '2026-11-24T25:00:00Z', '2026-02-30T00:00:00Z', '2026-11-24T09:00:00', 'yesterday', '1700000000'), fc.date({noInvalidDate: true}).map((d) => d.toUTCString()))
const badLabelMap = fc.oneof(notString.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)), fc.constantFrom({'': 'x'}, {'bad key!': 'x'}, {'a/b/c': 'x'}, {key: 'bad value!'}, {key: 'v'.repeat(64)}))
const badIdentifier = fc.oneof(notString, fc.constantFrom('', 'Orders', 'my-db', '1db', 'pg_x', 'a'.repeat(64), 'db;drop'))

const badSince = fc.oneof(notString, fc.constantFrom('soon', '5x', '0m', '15 m', '2026-13-01T00:00:00Z', 's'.repeat(41)))
const badSettings = fc.oneof(notString.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)), fc.constantFrom({'Bad Name': '1'}, {'': 'x'}, {max_client_conn: 5}, {'a;b': 'c'}))

type Field = fc.Arbitrary<unknown>
interface ToolCase {
  tool: string
  /** Valid arguments: each property replaces exactly one field with an invalid value. */
  base: (ns: string) => Record<string, unknown>
  fields: Record<string, Field>
}

/** Each destructive tool's confirmation flag (docs/safety.md). */
const CONFIRM_FLAGS: Record<string, string> = {
  delete_postgres_cluster: 'confirm_deletion',
  delete_cluster_instance: 'confirm_deletion',
  delete_scheduled_backup: 'confirm_deletion',
  restore_postgres_cluster: 'confirm_replace',
  resize_postgres_cluster: 'confirm_shrink',
  scale_postgres_cluster: 'confirm_scale_down',
  hibernate_postgres_cluster: 'confirm',
  restart_postgres_cluster: 'confirm',
  scale_pooler: 'confirm',
  pause_pooler: 'confirm',
  delete_pooler: 'confirm_deletion',
  delete_publication: 'confirm_deletion',
  delete_subscription: 'confirm_deletion',
  upgrade_postgres_cluster: 'confirm',
}

const common = {namespace: badName(63), dry_run: notBoolean}
const CASES: ToolCase[] = [
  {
    tool: 'create_postgres_cluster',
    base: (ns) => ({name: 'fuzz', namespace: ns}),
    fields: {
      ...common, name: badName(50), instances: badInt(1, 10), storage_size: badQuantity,
      postgres_version: fc.oneof(notString, fc.constantFrom('', '9.6', '12', 'latest', '17.1.1', '17-beta')),
      container_image: fc.oneof(notString, fc.constantFrom('', 'UPPER/case:1', 'img with space', 'registry/:tag', 'a'.repeat(513))),
      storage_class: badName(253, true), image_pull_policy: badEnum(['Always', 'Never', 'IfNotPresent']), node_selector: badLabelMap,
      tolerations: fc.oneof(notString.filter((v) => !Array.isArray(v)), fc.constantFrom([{operator: 'Maybe'}], [{effect: 'Sometimes'}], [{key: 'k', operator: 'Exists', value: 'v'}], [{tolerationSeconds: 5, effect: 'NoSchedule'}], [{unknown: true}])),
      database: badIdentifier, owner: badIdentifier,
      resources: fc.oneof(notString.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)), fc.constantFrom({requests: {cpu: 'lots'}}, {limits: {memory: '-1Gi'}}, {requests: {gpu: '1'}}, {other: {}})),
      enable_pod_monitor: notBoolean,
      postgresql_parameters: fc.constantFrom({'Bad Name': '1'}, {'': 'x'}, {work_mem: 5}, {'a;b': 'c'}),
      wait: notBoolean, timeout: badInt(5, 1800),
    },
  },
  {tool: 'list_postgres_clusters', base: (ns) => ({namespace: ns}), fields: {namespace: badName(63), all_namespaces: notBoolean, detail_level: badEnum(['concise', 'detailed']), format: badEnum(['text', 'json']), limit: badInt(1, 500), continue: fc.oneof(notString, fc.constant(''))}},
  {tool: 'get_cluster_status', base: (ns) => ({name: 'fuzz', namespace: ns}), fields: {namespace: badName(63), name: badName(63), detail_level: badEnum(['concise', 'detailed']), format: badEnum(['text', 'json'])}},
  {tool: 'scale_postgres_cluster', base: (ns) => ({name: 'fuzz', namespace: ns, instances: 2}), fields: {...common, name: badName(50), instances: badInt(1, 10), wait: notBoolean, timeout: badInt(5, 1800)}},
  {tool: 'delete_postgres_cluster', base: (ns) => ({name: 'fuzz', namespace: ns}), fields: {...common, name: badName(50), confirm_deletion: notBoolean}},
  {tool: 'resize_postgres_cluster', base: (ns) => ({name: 'fuzz', namespace: ns, storage_size: '5Gi'}), fields: {...common, name: badName(50), storage_size: badQuantity, extra_instances: badInt(1, 5), confirm_shrink: notBoolean, restore_validation_only: notBoolean}},
  {tool: 'get_cluster_resize_status', base: (ns) => ({name: 'fuzz', namespace: ns}), fields: {namespace: badName(63), name: badName(50), format: badEnum(['text', 'json'])}},
  {tool: 'promote_cluster_instance', base: (ns) => ({name: 'fuzz', namespace: ns, instance: 'fuzz-2'}), fields: {...common, name: badName(50), instance: badName(63), force: notBoolean}},
  {tool: 'delete_cluster_instance', base: (ns) => ({name: 'fuzz', namespace: ns, instance: 'fuzz-2'}), fields: {...common, name: badName(50), instance: badName(63), confirm_deletion: notBoolean}},
  {tool: 'list_backups', base: (ns) => ({namespace: ns}), fields: {namespace: badName(63), all_namespaces: notBoolean, cluster: badName(50), format: badEnum(['text', 'json']), limit: badInt(1, 500), continue: fc.oneof(notString, fc.constant(''), fc.constant('c'.repeat(4097)))}},
  {tool: 'get_backup', base: (ns) => ({name: 'fuzz-backup', namespace: ns}), fields: {namespace: badName(63), name: badName(63), format: badEnum(['text', 'json'])}},
  {tool: 'list_scheduled_backups', base: (ns) => ({namespace: ns}), fields: {namespace: badName(63), all_namespaces: notBoolean, cluster: badName(50), format: badEnum(['text', 'json']), limit: badInt(1, 500)}},
  {
    tool: 'create_backup',
    base: (ns) => ({cluster: 'fuzz', namespace: ns}),
    fields: {...common, cluster: badName(50), name: badName(63), method: badEnum(['barmanObjectStore', 'volumeSnapshot', 'plugin']), plugin_name: fc.oneof(notString, fc.constantFrom('', 'Bad Plugin', '-x', 'x_y')), plugin_parameters: fc.constantFrom({'': 'x'}, {k: 1}, {k: null}), target: badEnum(['primary', 'prefer-standby']), online: notBoolean},
  },
  {
    tool: 'create_scheduled_backup',
    base: (ns) => ({name: 'fuzz-nightly', cluster: 'fuzz', namespace: ns, schedule: '0 0 2 * * *'}),
    fields: {...common, name: badName(63), cluster: badName(50), schedule: badCron, method: badEnum(['barmanObjectStore', 'volumeSnapshot', 'plugin']), immediate: notBoolean, suspend: notBoolean, backup_owner_reference: badEnum(['none', 'self', 'cluster'])},
  },
  {tool: 'delete_scheduled_backup', base: (ns) => ({name: 'fuzz-nightly', namespace: ns}), fields: {...common, name: badName(63), confirm_deletion: notBoolean}},
  {
    tool: 'restore_postgres_cluster',
    base: (ns) => ({name: 'fuzz-restored', namespace: ns, backup_name: 'fuzz-backup'}),
    fields: {
      ...common, name: badName(50), backup_name: badName(63), target_time: badTime,
      target_lsn: fc.oneof(notString, fc.constantFrom('', '0', '0/', '/3', 'G/1', '0/3/4', '123456789/1')), target_xid: fc.oneof(notString, fc.constantFrom('', '-1', 'abc', '1.5', '1'.repeat(21))),
      target_name: fc.oneof(notString, fc.constant(''), fc.constant('n'.repeat(64)), fc.constant('bad\u0001name')), target_immediate: notBoolean, exclusive: notBoolean,
      instances: badInt(1, 10), storage_size: badQuantity, storage_class: badName(253, true), postgres_version: fc.oneof(notString, fc.constantFrom('', '9', 'x')),
      database: badIdentifier, owner: badIdentifier, confirm_replace: notBoolean, wait: notBoolean, timeout: badInt(5, 1800),
    },
  },
  ...['hibernate_postgres_cluster', 'resume_postgres_cluster', 'restart_postgres_cluster'].map((tool) => ({tool, base: (ns: string) => ({name: 'fuzz', namespace: ns}), fields: {...common, name: badName(50), confirm: notBoolean}})),
  {
    tool: 'get_cluster_logs',
    base: (ns) => ({name: 'fuzz', namespace: ns}),
    fields: {
      namespace: badName(63), name: badName(50), instance: badName(63), since: badSince, min_level: badEnum(['trace', 'debug', 'info', 'warning', 'error']),
      logger: fc.oneof(notString, fc.constant('l'.repeat(64))), contains: fc.oneof(notString, fc.constant(''), fc.constant('c'.repeat(201))),
      previous: notBoolean, tail_lines: badInt(1, 5000), limit: badInt(1, 1000), format: badEnum(['text', 'json']),
    },
  },
  {tool: 'list_cluster_events', base: (ns) => ({name: 'fuzz', namespace: ns}), fields: {namespace: badName(63), name: badName(50), type: badEnum(['Normal', 'Warning']), since: badSince, limit: badInt(1, 500), format: badEnum(['text', 'json'])}},
  {
    tool: 'create_pooler',
    base: (ns) => ({cluster: 'fuzz', namespace: ns}),
    fields: {...common, cluster: badName(50), name: badName(63), type: badEnum(['rw', 'ro']), instances: badInt(1, 10), pool_mode: badEnum(['session', 'transaction']), parameters: badSettings, paused: notBoolean},
  },
  {tool: 'scale_pooler', base: (ns) => ({name: 'fuzz-pooler', namespace: ns, instances: 2}), fields: {...common, name: badName(63), instances: badInt(0, 10), confirm: notBoolean}},
  {tool: 'delete_pooler', base: (ns) => ({name: 'fuzz-pooler', namespace: ns}), fields: {...common, name: badName(63), confirm_deletion: notBoolean}},
  {
    tool: 'create_publication',
    base: (ns) => ({name: 'fuzz-pub', cluster: 'fuzz', database: 'app', all_tables: true, namespace: ns}),
    fields: {...common, name: badName(63), cluster: badName(50), database: badIdentifier, publication_name: fc.oneof(notString, fc.constantFrom('', 'Pub', 'my-pub', 'p'.repeat(64))), all_tables: notBoolean, parameters: badSettings, reclaim_policy: badEnum(['retain', 'delete'])},
  },
  {
    tool: 'upgrade_postgres_cluster',
    base: (ns) => ({name: 'fuzz', namespace: ns, postgres_version: '17'}),
    fields: {...common, name: badName(50), postgres_version: fc.oneof(notString, fc.constantFrom('', '9.6', 'latest', '17.1.1')), confirm: notBoolean},
  },
]

/** Cross-field rules the schema cannot express, checked by the tool before any request. */
const CROSS_FIELD: Array<{tool: string; args: (ns: string) => Record<string, unknown>; message: RegExp}> = [
  {tool: 'resize_postgres_cluster', args: (ns) => ({name: 'fuzz', namespace: ns}), message: /storage_size is required/},
  {tool: 'restore_postgres_cluster', args: (ns) => ({name: 'fuzz-restored', namespace: ns}), message: /exactly one of backup_name/},
  {tool: 'restore_postgres_cluster', args: (ns) => ({name: 'fuzz-restored', namespace: ns, backup_name: 'b', source_cluster: 'fuzz'}), message: /exactly one of backup_name/},
  {tool: 'restore_postgres_cluster', args: (ns) => ({name: 'fuzz-restored', namespace: ns, backup_name: 'b', target_xid: '5', target_immediate: true}), message: /at most one recovery target/},
  {tool: 'restore_postgres_cluster', args: (ns) => ({name: 'fuzz', namespace: ns, source_cluster: 'fuzz'}), message: /never replaces/},
  {tool: 'create_publication', args: (ns) => ({name: 'fuzz-pub', cluster: 'fuzz', database: 'app', namespace: ns}), message: /Say what to publish/},
  {tool: 'upgrade_postgres_cluster', args: (ns) => ({name: 'fuzz', namespace: ns, postgres_version: '17', catalog_major: 17}), message: /exactly one of image, postgres_version or catalog_major/},
]

describe('fuzzing cluster tool parameters through the MCP client', () => {
  let ns: string
  let offline: StdioSession
  let online: StdioSession

  before(async () => {
    ns = await createNamespace('ct-fuzz')
    await waitForCnpgStorage(ns)
    await makeHealthyCluster(ns, 'fuzz', {instances: 2})
    // The same credentials, but a server address where nothing listens.
    const kubeconfig = parse(readFileSync(harness().kubeconfigFor('admin'), 'utf8'))
    for (const entry of kubeconfig.clusters) entry.cluster.server = 'https://127.0.0.1:9'
    for (const entry of kubeconfig.clusters) if (entry.cluster['certificate-authority']) entry.cluster['certificate-authority'] = resolve(dirname(harness().kubeconfigFor('admin')), entry.cluster['certificate-authority'])
    const dir = mkdtempSync(join(tmpdir(), 'kmcp-fuzz-'))
    writeFileSync(join(dir, 'kubeconfig'), stringify(kubeconfig))
    ;[offline, online] = await Promise.all([connectStdio({kubeconfig: join(dir, 'kubeconfig')}), connectStdio({kubeconfig: harness().kubeconfigFor('admin')})])
  })

  after(async () => {
    await Promise.all([offline?.close(), online?.close()])
  })

  test('the unreachable-server session really cannot reach Kubernetes (so the properties below mean something)', async () => {
    const result = await callTool(offline.client, 'get_cluster_status', {name: 'fuzz', namespace: ns})
    assert.equal(result.isError, true)
    assert.match(textOf(result), UNREACHABLE)
  })

  for (const testCase of CASES) {
    test(`${testCase.tool}: one invalid field gives a clear error naming it, and no request`, async () => {
      const fieldNames = Object.keys(testCase.fields)
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...fieldNames).chain((field) => testCase.fields[field].map((value) => ({field, value}))), async ({field, value}) => {
          const args = {...testCase.base(ns), [field]: value}
          const result = await callTool(offline.client, testCase.tool, args)
          const text = textOf(result)
          assert.equal(result.isError, true, `${JSON.stringify(args)} was accepted: ${text}`)
          assert.doesNotMatch(text, UNREACHABLE, `${JSON.stringify(args)} reached for Kubernetes`)
          assert.ok(text.includes(field), `the error for ${JSON.stringify(args)} names "${field}": ${text}`)
          assert.ok(text.length < 4000, 'the error is short')
        }),
        {numRuns: RUNS},
      )
    })
  }

  test('cross-field rules are checked before any request', async () => {
    for (const {tool, args, message} of CROSS_FIELD) {
      const result = await callTool(offline.client, tool, args(ns))
      assert.equal(result.isError, true)
      assert.match(textOf(result), message)
      assert.doesNotMatch(textOf(result), UNREACHABLE)
    }
  })

  test('arbitrary argument objects never crash the server', async () => {
    const tools = CASES.map((c) => c.tool)
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...tools), fc.dictionary(fc.constantFrom('name', 'namespace', 'instances', 'storage_size', 'instance', 'cluster', 'schedule', 'dry_run', 'confirm', 'wait', 'timeout', 'extra'), fc.jsonValue({maxDepth: 2})), async (tool, args) => {
        const result = await callTool(offline.client, tool, args)
        assert.ok(Array.isArray(result.content) && result.content.length > 0, 'a result with content')
        if (result.isError) assert.ok(textOf(result).trim().length > 0, 'an error says something')
      }),
      {numRuns: RUNS * 3},
    )
    await offline.client.ping()
    assert.doesNotMatch(offline.stderr(), /tool failed unexpectedly|unhandled|TypeError/i)
  })

  test('against the real server: invalid input creates and changes nothing', async () => {
    const snapshot = async () => {
      const clusters = (await getJson(cnpg(ns, 'clusters'))).items.map((c: {metadata: {name: string; resourceVersion: string}}) => `${c.metadata.name}@${c.metadata.resourceVersion}`)
      const backups = (await getJson(cnpg(ns, 'backups'))).items.length
      const scheduled = (await getJson(cnpg(ns, 'scheduledbackups'))).items.length
      return {clusters, backups, scheduled}
    }
    const before = await snapshot()
    const mutating = CASES.filter((c) => !c.tool.startsWith('list_') && !c.tool.startsWith('get_'))
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...mutating).chain((c) => fc.constantFrom(...Object.keys(c.fields)).chain((field) => c.fields[field].map((value) => ({c, field, value})))), async ({c, field, value}) => {
        // The tool's own confirmation flag, so that only the invalid field can be the reason for refusing.
        const flag = CONFIRM_FLAGS[c.tool]
        const result = await callTool(online.client, c.tool, {...c.base(ns), ...(flag && field !== flag ? {[flag]: true} : {}), [field]: value})
        assert.equal(result.isError, true, `${c.tool} ${field}=${JSON.stringify(value)} was accepted`)
      }),
      {numRuns: RUNS},
    )
    assert.deepEqual(await snapshot(), before)
  })
})
