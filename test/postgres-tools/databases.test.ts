// Database tools and get_connection_info through a real MCP client and a real API server.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {bindRole, createNamespace, harness, kubeRequest} from '../support/kube.ts'
import {makeHealthyCluster, setDatabaseStatus} from '../support/operator.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {closeCheckingForLeaks, ensureSecretsClusterRole, OutputLog, SECRETS_CLUSTER_ROLE, waitForCnpgStorage} from './helpers.ts'

const CNPG = '/apis/postgresql.cnpg.io/v1'

describe('PostgreSQL database tools and get_connection_info against the real API server', () => {
  let admin: StdioSession
  let alice: StdioSession
  let ns: string
  const outputs = new OutputLog()
  const call = async (session: StdioSession, name: string, args: Record<string, unknown>): Promise<CallToolResult> => outputs.record(await callTool(session.client, name, args))
  const databases = (name?: string) => `${CNPG}/namespaces/${ns}/databases${name ? `/${name}` : ''}`
  const APP_PASSWORD = 'app-password-from-the-operator'

  before(async () => {
    ns = await createNamespace('pg-dbs')
    await waitForCnpgStorage(ns)
    await makeHealthyCluster(ns, 'db1', {instances: 2, spec: {managed: {services: {disabledDefaultServices: ['r']}}}})
    await ensureSecretsClusterRole()
    // The operator's application Secret, as CNPG creates it.
    const app = await kubeRequest('admin', 'POST', `/api/v1/namespaces/${ns}/secrets`, {metadata: {name: 'db1-app'}, type: 'kubernetes.io/basic-auth', stringData: {username: 'app', password: APP_PASSWORD}})
    assert.equal(app.status, 201)
    admin = await connectStdio({kubeconfig: harness().kubeconfigFor('admin')})
    alice = await connectStdio({kubeconfig: harness().kubeconfigFor('alice')})
  })

  after(() => closeCheckingForLeaks(outputs, ns, [admin, alice]))

  test('create dry run stores nothing and keeps string values quoted', async () => {
    const result = await call(admin, 'create_postgres_database', {cluster_name: 'db1', database_name: 'orders', owner: 'app', collation_version: '153.120', namespace: ns, dry_run: true})
    assert.equal(result.isError, undefined, textOf(result))
    assert.match(textOf(result), /collationVersion: "153\.120"|collationVersion: '153\.120'/)
    assert.equal((await kubeRequest('admin', 'GET', databases('db1-orders'))).status, 404)
  })

  test('create with locale options; status and list follow the operator', async () => {
    const result = await call(admin, 'create_postgres_database', {cluster_name: 'db1', database_name: 'orders', owner: 'app', encoding: 'UTF8', locale_provider: 'icu', icu_locale: 'en-US', icu_rules: '&V << w <<< W', reclaim_policy: 'delete', namespace: ns})
    assert.equal(result.isError, undefined, textOf(result))
    const stored = (await kubeRequest('admin', 'GET', databases('db1-orders'))).body
    assert.equal(stored.spec.localeProvider, 'icu')
    assert.equal(stored.spec.icuLocale, 'en-US')
    assert.equal(stored.spec.databaseReclaimPolicy, 'delete')
    await setDatabaseStatus(ns, 'db1-orders', {applied: true, observedGeneration: 1, extensions: [{name: 'pg_stat_statements', applied: true}]})
    const status = await call(admin, 'get_postgres_database_status', {cluster_name: 'db1', database_name: 'orders', namespace: ns})
    const text = textOf(status)
    for (const line of ['Current Locale/Encoding Values', '- Encoding: UTF8', '- ICU Locale: en-US', '- Builtin Locale: not set', '- Applied: True', 'extension pg_stat_statements: applied']) assert.ok(text.includes(line), `${line} in\n${text}`)
    const list = await call(admin, 'list_postgres_databases', {cluster_name: 'db1', namespace: ns})
    assert.equal((list.structuredContent as {count: number}).count, 1)
    assert.match(textOf(list), /\*\*orders\*\* \(CRD: db1-orders\)/)
  })

  test('underscored names work (PostgreSQL allows them); the object name uses "-"', async () => {
    const result = await call(admin, 'create_postgres_database', {cluster_name: 'db1', database_name: 'sales_eu', owner: 'app', namespace: ns})
    assert.equal(result.isError, undefined, textOf(result))
    assert.equal((await kubeRequest('admin', 'GET', databases('db1-sales-eu'))).body.spec.name, 'sales_eu')
  })

  test('the owner must be a known role unless the check is skipped', async () => {
    const unknown = await call(admin, 'create_postgres_database', {cluster_name: 'db1', database_name: 'x_owned', owner: 'stranger', namespace: ns})
    assert.equal(unknown.isError, true)
    assert.match(textOf(unknown), /Owner "stranger" is not a role/)
    assert.equal((await kubeRequest('admin', 'GET', databases('db1-x-owned'))).status, 404)
    const skipped = await call(admin, 'create_postgres_database', {cluster_name: 'db1', database_name: 'x_owned', owner: 'stranger', skip_owner_check: true, namespace: ns, dry_run: true})
    assert.equal(skipped.isError, undefined, textOf(skipped))
  })

  test('422 from the CRD\'s CEL rules: locale options without their provider, reserved names', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{icu_locale: 'en-US'}, /icuLocale is only available when localeProvider is set to `icu`/],
      [{locale_provider: 'libc', builtin_locale: 'C.UTF-8'}, /builtinLocale is only available/],
      [{icu_rules: '&a < b'}, /icuRules is only available/],
    ]
    for (const [options, message] of cases) {
      const result = await call(admin, 'create_postgres_database', {cluster_name: 'db1', database_name: 'bad_locale', owner: 'app', namespace: ns, ...options})
      assert.equal(result.isError, true, JSON.stringify(options))
      assert.match(textOf(result), /422/)
      assert.match(textOf(result), message)
    }
    const reserved = await call(admin, 'create_postgres_database', {cluster_name: 'db1', database_name: 'template1', owner: 'app', namespace: ns})
    assert.equal(reserved.isError, true)
    assert.match(textOf(reserved), /template1 is reserved/)
    assert.equal((await kubeRequest('admin', 'GET', databases()) ).body.items.length, 2, 'only orders and sales_eu exist')
  })

  test('404 and 409', async () => {
    const noCluster = await call(admin, 'create_postgres_database', {cluster_name: 'nope', database_name: 'a', owner: 'app', namespace: ns})
    assert.equal(noCluster.isError, true)
    assert.match(textOf(noCluster), /cluster "nope" was not found/)
    const noDb = await call(admin, 'get_postgres_database_status', {cluster_name: 'db1', database_name: 'ghost', namespace: ns})
    assert.equal(noDb.isError, true)
    assert.match(textOf(noDb), /No Database object/)
    const again = await call(admin, 'create_postgres_database', {cluster_name: 'db1', database_name: 'orders', owner: 'app', namespace: ns})
    assert.equal(again.isError, true)
    assert.match(textOf(again), /already exists/)
    const squatter = await kubeRequest('admin', 'POST', databases(), {apiVersion: 'postgresql.cnpg.io/v1', kind: 'Database', metadata: {name: 'db1-taken'}, spec: {name: 'other', owner: 'app', cluster: {name: 'db1'}}})
    assert.equal(squatter.status, 201)
    const clash = await call(admin, 'create_postgres_database', {cluster_name: 'db1', database_name: 'taken', owner: 'app', namespace: ns})
    assert.equal(clash.isError, true)
    assert.match(textOf(clash), /409 AlreadyExists/)
  })

  test('delete: found by spec whatever its name; dropping needs confirmation; retain does not', async () => {
    // "other" lives in the object db1-taken: found through its spec.
    const dry = await call(admin, 'delete_postgres_database', {cluster_name: 'db1', database_name: 'other', namespace: ns, dry_run: true})
    assert.equal(dry.isError, undefined, textOf(dry))
    assert.equal((await kubeRequest('admin', 'GET', databases('db1-taken'))).status, 200)
    const retained = await call(admin, 'delete_postgres_database', {cluster_name: 'db1', database_name: 'other', namespace: ns})
    assert.equal(retained.isError, undefined, textOf(retained))
    assert.match(textOf(retained), /will be retained in PostgreSQL/)
    assert.equal((await kubeRequest('admin', 'GET', databases('db1-taken'))).status, 404)

    const dropDry = await call(admin, 'delete_postgres_database', {cluster_name: 'db1', database_name: 'orders', namespace: ns, dry_run: true})
    assert.match(textOf(dropDry), /WARNING: this deletes data/)
    const unconfirmed = await call(admin, 'delete_postgres_database', {cluster_name: 'db1', database_name: 'orders', namespace: ns})
    assert.equal(unconfirmed.isError, true, 'an unconfirmed drop is an error')
    assert.match(textOf(unconfirmed), /^REFUSED[\s\S]*"confirm_deletion":true/)
    assert.equal((await kubeRequest('admin', 'GET', databases('db1-orders'))).status, 200)
    const confirmed = await call(admin, 'delete_postgres_database', {cluster_name: 'db1', database_name: 'orders', namespace: ns, confirm_deletion: true})
    assert.equal(confirmed.isError, undefined, textOf(confirmed))
    assert.match(textOf(confirmed), /will be dropped from PostgreSQL/)
    assert.equal((await kubeRequest('admin', 'GET', databases('db1-orders'))).status, 404)
  })

  test('get_connection_info: services, port, Secret and command; the password only on request', async () => {
    const result = await call(admin, 'get_connection_info', {cluster_name: 'db1', namespace: ns})
    assert.equal(result.isError, undefined, textOf(result))
    const info = result.structuredContent as {services: Array<{kind: string; host: string}>; port: number; secret_name: string; username: string; database: string; password?: string; read_password_command: string; connection_uri: string}
    assert.deepEqual(info.services.map((s) => s.host), [`db1-rw.${ns}.svc`, `db1-ro.${ns}.svc`], 'the disabled -r Service is left out')
    assert.equal(info.port, 5432)
    assert.equal(info.secret_name, 'db1-app')
    assert.equal(info.username, 'app')
    assert.equal(info.database, 'app')
    assert.equal(info.password, undefined)
    assert.match(info.read_password_command, /kubectl get secret db1-app/)
    assert.equal(info.connection_uri, `postgresql://app@db1-rw.${ns}.svc:5432/app`)

    const role = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'reporter', namespace: ns})
    assert.equal(role.isError, undefined, textOf(role))
    const forRole = await call(admin, 'get_connection_info', {cluster_name: 'db1', role_name: 'reporter', database_name: 'sales_eu', namespace: ns})
    assert.equal((forRole.structuredContent as {secret_name: string}).secret_name, 'cnpg-db1-user-reporter')
    assert.match(textOf(forRole), /postgresql:\/\/reporter@db1-rw\.[a-z0-9-]+\.svc:5432\/sales_eu/)

    // Asked for explicitly: the one place a password may appear. Kept out of the leak check.
    const withPassword = await callTool(admin.client, 'get_connection_info', {cluster_name: 'db1', namespace: ns, include_password: true})
    assert.equal((withPassword.structuredContent as {password: string}).password, APP_PASSWORD)

    const unknownRole = await call(admin, 'get_connection_info', {cluster_name: 'db1', role_name: 'ghost', namespace: ns})
    assert.equal(unknownRole.isError, true)
  })

  test('403 until bound; a caller who may not read Secrets gets no password', async () => {
    const denied = await call(alice, 'list_postgres_databases', {cluster_name: 'db1', namespace: ns})
    assert.equal(denied.isError, true)
    assert.match(textOf(denied), /403/)
    await bindRole(ns, 'alice', 'cnpg-cloudnative-pg-view')
    assert.equal((await call(alice, 'list_postgres_databases', {cluster_name: 'db1', namespace: ns})).isError, undefined)
    const noSecret = await call(alice, 'get_connection_info', {cluster_name: 'db1', namespace: ns, include_password: true})
    assert.equal(noSecret.isError, undefined, textOf(noSecret))
    assert.match(textOf(noSecret), /Password not returned: kmcp may not read Secret db1-app/)
    assert.equal((noSecret.structuredContent as {password?: string}).password, undefined)

    const noEdit = await call(alice, 'create_postgres_database', {cluster_name: 'db1', database_name: 'alice_db', owner: 'app', namespace: ns})
    assert.equal(noEdit.isError, true)
    assert.match(textOf(noEdit), /403/)
    await bindRole(ns, 'alice', 'cnpg-cloudnative-pg-edit')
    const created = await call(alice, 'create_postgres_database', {cluster_name: 'db1', database_name: 'alice_db', owner: 'app', namespace: ns})
    assert.equal(created.isError, undefined, textOf(created))
    await bindRole(ns, 'alice', SECRETS_CLUSTER_ROLE)
    const withPassword = await callTool(alice.client, 'get_connection_info', {cluster_name: 'db1', namespace: ns, include_password: true})
    assert.equal((withPassword.structuredContent as {password: string}).password, APP_PASSWORD)
  })
})
