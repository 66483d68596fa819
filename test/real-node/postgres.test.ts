// Roles and databases on the real operator through kmcp, checked in PostgreSQL: the role exists,
// logs in with the password get_connection_info returns, loses its rights when changed and is
// dropped; databases exist with their owner and are dropped or kept per their reclaim policy.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {textOf, type StdioSession} from '../support/mcp.ts'
import {appConnection, connectAdmin, createArgsForNode, deleteClusters, ok, realNodeUnavailable, skipWithoutNode, sql, sqlEventually, sqlOk, timer, untilStatus, waitUntil, type PsqlTarget} from './helpers.ts'

const NS = 'e2e-postgres'
const NAME = 'pgc'

describe('roles and databases on the real operator', () => {
  let admin: StdioSession | undefined
  let app: PsqlTarget
  /** The reporter role's connection, with the password kmcp reports. */
  let reporter: PsqlTarget
  const roleRow = (role: string) => sqlOk(NS, `select rolcanlogin from pg_roles where rolname = '${role}'`, app)

  before(async () => {
    if ((await realNodeUnavailable()) === undefined) admin = await connectAdmin()
  })
  after(async () => {
    if (admin) await deleteClusters(NS)
    await admin?.close()
  })

  test('a healthy cluster with some data', async (t) => {
    if (!(await skipWithoutNode(t))) return
    await ok(admin!, 'create_postgres_cluster', {...(await createArgsForNode(NAME, NS, 1)), wait: true, timeout: 240})
    await untilStatus(admin!, NS, NAME, /Instances: 1\/1 ready/)
    app = await appConnection(admin!, NS, NAME)
    await sqlEventually(NS, "create table orders (id int); insert into orders values (1), (2)", app)
  })

  test('create_postgres_role: the role exists, logs in with the password kmcp returns, has its memberships', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const took = timer('create_postgres_role until the role logs in')
    const created = textOf(await ok(admin!, 'create_postgres_role', {cluster_name: NAME, role_name: 'reporter', in_roles: ['pg_read_all_data'], reclaim_policy: 'delete', namespace: NS}))
    assert.match(created, /reporter/)
    await waitUntil(async () => (await roleRow('reporter')) === 't', 60_000, 'role reporter in pg_roles')
    const info = (await ok(admin!, 'get_connection_info', {cluster_name: NAME, role_name: 'reporter', namespace: NS, include_password: true})).structuredContent as {username: string; password?: string; database: string}
    assert.equal(info.username, 'reporter')
    assert.ok(info.password && info.password.length >= 16, 'a generated password is returned on request')
    reporter = {...app, user: 'reporter', password: info.password}
    assert.equal(await sqlEventually(NS, 'select current_user', reporter), 'reporter')
    took()
    assert.equal(await sqlOk(NS, 'select count(*) from orders', reporter), '2', 'pg_read_all_data lets it read the app tables')
    const wrong = await sql(NS, 'select 1', {...reporter, password: 'not-the-password'})
    assert.notEqual(wrong.code, 0)
    assert.match(wrong.stderr, /password authentication failed/)
    const status = textOf(await ok(admin!, 'get_postgres_role_status', {cluster_name: NAME, role_name: 'reporter', namespace: NS}))
    assert.match(status, /applied|Applied|true/)
  })

  test('update_postgres_role generate_password: the new password works, the old one no longer does', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const took = timer('password rotation until the new password logs in')
    await ok(admin!, 'update_postgres_role', {cluster_name: NAME, role_name: 'reporter', generate_password: true, confirm_password_change: true, namespace: NS})
    const info = (await ok(admin!, 'get_connection_info', {cluster_name: NAME, role_name: 'reporter', namespace: NS, include_password: true})).structuredContent as {password?: string}
    assert.ok(info.password && info.password !== reporter.password, 'a new password is stored')
    const old = reporter
    reporter = {...reporter, password: info.password}
    await waitUntil(async () => (await sql(NS, 'select 1', reporter)).code === 0, 60_000, 'the new password to be applied')
    took()
    assert.match((await sql(NS, 'select 1', old)).stderr, /password authentication failed/)
  })

  test('update_postgres_role: removing the membership takes the read right away; login=false locks it out', async (t) => {
    if (!(await skipWithoutNode(t))) return
    await ok(admin!, 'update_postgres_role', {cluster_name: NAME, role_name: 'reporter', in_roles: [], namespace: NS})
    await waitUntil(async () => {
      const read = await sql(NS, 'select count(*) from orders', reporter)
      return read.code !== 0 && /permission denied/.test(read.stderr)
    }, 60_000, 'reporter to lose SELECT on orders')
    await ok(admin!, 'update_postgres_role', {cluster_name: NAME, role_name: 'reporter', login: false, namespace: NS})
    await waitUntil(async () => (await roleRow('reporter')) === 'f', 60_000, 'rolcanlogin to become false')
    const locked = await sql(NS, 'select 1', reporter)
    assert.notEqual(locked.code, 0)
    assert.match(locked.stderr, /not permitted to log in/)
  })

  test('delete_postgres_role with drop_role: the role is dropped from PostgreSQL', async (t) => {
    if (!(await skipWithoutNode(t))) return
    await ok(admin!, 'delete_postgres_role', {cluster_name: NAME, role_name: 'reporter', drop_role: true, confirm_deletion: true, namespace: NS})
    await waitUntil(async () => (await roleRow('reporter')) === '', 60_000, 'role reporter to be dropped')
  })

  test('create_postgres_database: exists with its owner; delete drops it (reclaim "delete") or keeps it (reclaim "retain")', async (t) => {
    if (!(await skipWithoutNode(t))) return
    const took = timer('create_postgres_database until it exists')
    await ok(admin!, 'create_postgres_database', {cluster_name: NAME, database_name: 'sales', owner: 'app', reclaim_policy: 'delete', namespace: NS})
    await ok(admin!, 'create_postgres_database', {cluster_name: NAME, database_name: 'archive', owner: 'app', namespace: NS})
    const ownerOf = (db: string) => sqlOk(NS, `select pg_get_userbyid(datdba) from pg_database where datname = '${db}'`, app)
    await waitUntil(async () => (await ownerOf('sales')) === 'app' && (await ownerOf('archive')) === 'app', 60_000, 'databases sales and archive owned by app')
    took()
    assert.equal(await sqlOk(NS, 'select current_database()', {...app, database: 'sales'}), 'sales')
    assert.match(textOf(await ok(admin!, 'get_postgres_database_status', {cluster_name: NAME, database_name: 'sales', namespace: NS})), /applied|Applied|true/)

    await ok(admin!, 'delete_postgres_database', {cluster_name: NAME, database_name: 'sales', confirm_deletion: true, namespace: NS})
    await ok(admin!, 'delete_postgres_database', {cluster_name: NAME, database_name: 'archive', confirm_deletion: true, namespace: NS})
    await waitUntil(async () => (await ownerOf('sales')) === '', 60_000, 'database sales to be dropped')
    assert.equal(await ownerOf('archive'), 'app', 'a retained database stays in PostgreSQL')
    assert.doesNotMatch(textOf(await ok(admin!, 'list_postgres_databases', {cluster_name: NAME, namespace: NS})), /archive|sales/)
  })
})
