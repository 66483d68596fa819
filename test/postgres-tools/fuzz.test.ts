// Property-based fuzzing of every postgres tool parameter through the MCP client: each call
// corrupts exactly one argument of an otherwise valid call. Every such call must give a clear
// isError result naming the argument, the server must survive, and nothing may be stored.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import fc from 'fast-check'
import YAML from 'yaml'
import {createNamespace, harness, kubeRequest} from '../support/kube.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {waitForCnpgStorage} from './helpers.ts'

const RUNS = 30

/** A kubeconfig for a server that refuses connections (port 1 on loopback). */
function unreachableKubeconfig(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kmcp-fuzz-')), 'kubeconfig')
  writeFileSync(file, YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{name: 'nowhere', cluster: {server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true}}],
    users: [{name: 'nobody', user: {token: 'unused'}}],
    contexts: [{name: 'nowhere', context: {cluster: 'nowhere', user: 'nobody', namespace: 'default'}}],
    'current-context': 'nowhere',
  }))
  return file
}
const POSTGRES_NAME = /^[a-z]([a-z0-9_-]*[a-z0-9])?$/
const KUBE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

const notA = <T>(valid: (value: T) => boolean, arbitrary: fc.Arbitrary<T>) => arbitrary.filter((value) => !valid(value))
const wrongType = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), {maxLength: 2}), fc.object({maxDepth: 1}))

const invalid = {
  postgresName: fc.oneof(notA((s: string) => POSTGRES_NAME.test(s) && s.length <= 63, fc.string({maxLength: 80})), fc.string({minLength: 64, maxLength: 70}).map((s) => `a${s.replace(/[^a-z]/g, 'a')}`), wrongType),
  clusterName: fc.oneof(notA((s: string) => KUBE_NAME.test(s) && s.length <= 50, fc.string({maxLength: 70})), wrongType),
  namespace: fc.oneof(notA((s: string) => KUBE_NAME.test(s) && s.length <= 63, fc.string({maxLength: 70})), wrongType),
  boolean: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
  connectionLimit: fc.oneof(fc.integer({max: -2}), fc.integer({min: 100_001}), fc.double({noInteger: true, noNaN: true}), fc.string()),
  validUntil: fc.oneof(fc.string({maxLength: 30}), fc.constantFrom('2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-01-01', 'tomorrow'), fc.integer()),
  inRoles: fc.oneof(fc.string(), fc.array(notA((s: string) => POSTGRES_NAME.test(s) && s.length <= 63, fc.string({maxLength: 20})), {minLength: 1, maxLength: 3}), fc.array(fc.constant('r'), {minLength: 101, maxLength: 102})),
  enumOf: (...allowed: string[]) => fc.oneof(notA((s: string) => allowed.includes(s), fc.string({maxLength: 12})), fc.integer(), fc.constant(null)),
  localeText: fc.oneof(fc.constant(''), fc.string({minLength: 1, maxLength: 20}).filter((s) => /[^A-Za-z0-9_.@=+:-]/.test(s)), fc.string({minLength: 129, maxLength: 140}), fc.integer()),
  password: fc.oneof(fc.string({maxLength: 7}), fc.integer(), fc.constant(null)),
}

/** Per tool: a valid call, and what each argument may be replaced with to make it invalid. */
function cases(ns: string): Array<{tool: string; valid: Record<string, unknown>; corrupt: Record<string, fc.Arbitrary<unknown>>}> {
  const common = {cluster_name: invalid.clusterName, namespace: invalid.namespace}
  const flags = Object.fromEntries(['login', 'superuser', 'inherit', 'createdb', 'createrole', 'replication', 'bypassrls', 'disable_password', 'client_certificate', 'dry_run'].map((f) => [f, invalid.boolean]))
  const role = {cluster_name: 'db1', role_name: 'fuzz_role', namespace: ns}
  const database = {cluster_name: 'db1', database_name: 'fuzz_db', namespace: ns}
  return [
    {tool: 'list_postgres_roles', valid: {cluster_name: 'db1', namespace: ns}, corrupt: {...common, format: invalid.enumOf('text', 'json')}},
    {tool: 'get_postgres_role_status', valid: role, corrupt: {...common, role_name: invalid.postgresName, format: invalid.enumOf('text', 'json')}},
    {
      tool: 'create_postgres_role',
      valid: {...role, dry_run: true},
      corrupt: {...common, ...flags, role_name: invalid.postgresName, in_roles: invalid.inRoles, connection_limit: invalid.connectionLimit, valid_until: invalid.validUntil, comment: fc.oneof(fc.string({minLength: 1025, maxLength: 1030}), fc.integer()), reclaim_policy: invalid.enumOf('retain', 'delete')},
    },
    {
      tool: 'update_postgres_role',
      valid: {...role, dry_run: true, connection_limit: 3},
      corrupt: {...common, ...flags, role_name: invalid.postgresName, in_roles: invalid.inRoles, connection_limit: invalid.connectionLimit, valid_until: invalid.validUntil, password: invalid.password, generate_password: invalid.boolean, reclaim_policy: invalid.enumOf('retain', 'delete')},
    },
    {tool: 'delete_postgres_role', valid: {...role, dry_run: true}, corrupt: {...common, role_name: invalid.postgresName, drop_role: invalid.boolean, confirm_deletion: invalid.boolean, dry_run: invalid.boolean}},
    {tool: 'list_postgres_databases', valid: {cluster_name: 'db1', namespace: ns}, corrupt: {...common, format: invalid.enumOf('text', 'json')}},
    {tool: 'get_postgres_database_status', valid: database, corrupt: {...common, database_name: invalid.postgresName}},
    {
      tool: 'create_postgres_database',
      valid: {...database, owner: 'app', dry_run: true},
      corrupt: {
        ...common,
        database_name: invalid.postgresName,
        owner: invalid.postgresName,
        reclaim_policy: invalid.enumOf('retain', 'delete'),
        locale_provider: invalid.enumOf('builtin', 'icu', 'libc'),
        encoding: invalid.localeText,
        locale: invalid.localeText,
        locale_collate: invalid.localeText,
        locale_ctype: invalid.localeText,
        icu_locale: invalid.localeText,
        builtin_locale: invalid.localeText,
        collation_version: fc.oneof(fc.constant(''), fc.constant('1 2'), fc.integer()),
        skip_owner_check: invalid.boolean,
        dry_run: invalid.boolean,
      },
    },
    {tool: 'delete_postgres_database', valid: {...database, dry_run: true}, corrupt: {...common, database_name: invalid.postgresName, confirm_deletion: invalid.boolean}},
    {tool: 'get_connection_info', valid: {cluster_name: 'db1', namespace: ns}, corrupt: {...common, role_name: invalid.postgresName, database_name: invalid.postgresName, include_password: invalid.boolean, format: invalid.enumOf('text', 'json')}},
  ]
}

describe('postgres tools reject fuzzed arguments clearly and store nothing', () => {
  let session: StdioSession
  /** Points at a port where nothing listens: any Kubernetes request would fail with "Could not reach". */
  let unreachable: StdioSession
  let ns: string

  before(async () => {
    ns = await createNamespace('pg-fuzz')
    await waitForCnpgStorage(ns)
    await makeHealthyCluster(ns, 'db1', {instances: 1})
    session = await connectStdio({kubeconfig: harness().kubeconfigFor('admin')})
    unreachable = await connectStdio({kubeconfig: unreachableKubeconfig()})
  })

  after(async () => {
    await session?.close()
    await unreachable?.close()
  })

  for (const {tool, valid, corrupt} of cases('NAMESPACE')) {
    test(`${tool}: every corrupted argument gives an isError result naming it`, async () => {
      const base = {...valid, namespace: valid.namespace === 'NAMESPACE' ? ns : valid.namespace}
      const sane = await callTool(session.client, tool, base)
      assert.doesNotMatch(textOf(sane), /Input validation error/, 'the base call is valid')
      assert.match(textOf(await callTool(unreachable.client, tool, base)), /Could not reach/, 'a valid call does try Kubernetes')
      let calls = 0
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...Object.keys(corrupt)).chain((key) => fc.tuple(fc.constant(key), corrupt[key])), async ([key, value]) => {
          calls++
          const result = await callTool(session.client, tool, {...base, [key]: value})
          assert.equal(result.isError, true, `${tool} accepted ${key}=${JSON.stringify(value)}: ${textOf(result).slice(0, 300)}`)
          assert.ok(textOf(result).includes(key), `the error names "${key}": ${textOf(result).slice(0, 300)}`)
          // The same call against an unreachable API server fails the same way: no request was tried.
          const offline = await callTool(unreachable.client, tool, {...base, [key]: value})
          assert.equal(offline.isError, true)
          assert.doesNotMatch(textOf(offline), /Could not reach/)
        }),
        {numRuns: RUNS},
      )
      assert.equal(calls, RUNS)
    })
  }

  test('after all that: the server still answers and nothing was stored', async () => {
    const alive = await callTool(session.client, 'list_postgres_roles', {cluster_name: 'db1', namespace: ns})
    assert.equal(alive.isError, undefined, textOf(alive))
    for (const path of [`/apis/postgresql.cnpg.io/v1/namespaces/${ns}/databaseroles`, `/apis/postgresql.cnpg.io/v1/namespaces/${ns}/databases`, `/api/v1/namespaces/${ns}/secrets`]) {
      const list = await kubeRequest('admin', 'GET', path)
      assert.deepEqual(list.body.items.map((i: {metadata: {name: string}}) => i.metadata.name), [], path)
    }
  })
})
