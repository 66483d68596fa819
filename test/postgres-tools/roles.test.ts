// Role tools (DatabaseRole + password Secrets) through a real MCP client and a real API server.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {bindRole, createNamespace, harness, kubeRequest} from '../support/kube.ts'
import {makeHealthyCluster, setDatabaseRoleStatus} from '../support/operator.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {closeCheckingForLeaks, ensureSecretsClusterRole, OutputLog, SECRETS_CLUSTER_ROLE, waitForCnpgStorage} from './helpers.ts'

const CNPG = '/apis/postgresql.cnpg.io/v1'

describe('PostgreSQL role tools against the real API server', () => {
  let admin: StdioSession
  let alice: StdioSession
  let ns: string
  const outputs = new OutputLog()
  const call = async (session: StdioSession, name: string, args: Record<string, unknown>): Promise<CallToolResult> => outputs.record(await callTool(session.client, name, args))
  const roles = (name?: string) => `${CNPG}/namespaces/${ns}/databaseroles${name ? `/${name}` : ''}`
  const secret = (name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`

  before(async () => {
    ns = await createNamespace('pg-roles')
    await waitForCnpgStorage(ns)
    await makeHealthyCluster(ns, 'db1', {instances: 1, spec: {managed: {roles: [{name: 'legacy_user', ensure: 'present', login: true}]}}})
    await ensureSecretsClusterRole()
    admin = await connectStdio({kubeconfig: harness().kubeconfigFor('admin')})
    alice = await connectStdio({kubeconfig: harness().kubeconfigFor('alice')})
  })

  after(() => closeCheckingForLeaks(outputs, ns, [admin, alice]))

  test('tools/list declares the role tools with annotations', async () => {
    const {tools} = await admin.client.listTools()
    const byName = new Map(tools.map((t) => [t.name, t]))
    for (const name of ['list_postgres_roles', 'get_postgres_role_status', 'create_postgres_role', 'update_postgres_role', 'delete_postgres_role']) assert.ok(byName.has(name), name)
    assert.equal(byName.get('list_postgres_roles')!.annotations?.readOnlyHint, true)
    assert.equal(byName.get('delete_postgres_role')!.annotations?.destructiveHint, true)
    assert.match(byName.get('create_postgres_role')!.description ?? '', /Example:/)
  })

  test('create dry run stores neither the DatabaseRole nor the Secret', async () => {
    const result = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'preview_only', namespace: ns, dry_run: true})
    assert.equal(result.isError, undefined, textOf(result))
    assert.match(textOf(result), /Dry run/)
    assert.match(textOf(result), /passwordSecret:\n\s+name: cnpg-db1-user-preview-only/)
    assert.equal((await kubeRequest('admin', 'GET', roles('db1-preview-only'))).status, 404)
    assert.equal((await kubeRequest('admin', 'GET', secret('cnpg-db1-user-preview-only'))).status, 404)
  })

  test('create makes a DatabaseRole and a kmcp-labelled basic-auth Secret; status follows the operator', async () => {
    const result = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'app_reader', namespace: ns, in_roles: ['pg_read_all_data'], connection_limit: 10, valid_until: '2030-01-01T00:00:00Z', comment: 'reporting'})
    assert.equal(result.isError, undefined, textOf(result))
    assert.match(textOf(result), /Created role "app_reader"/)
    assert.match(textOf(result), /kubectl get secret cnpg-db1-user-app-reader/)
    const role = (await kubeRequest('admin', 'GET', roles('db1-app-reader'))).body
    assert.equal(role.spec.name, 'app_reader')
    assert.equal(role.spec.cluster.name, 'db1')
    assert.equal(role.spec.connectionLimit, 10)
    assert.deepEqual(role.spec.inRoles, ['pg_read_all_data'])
    assert.equal(role.spec.passwordSecret.name, 'cnpg-db1-user-app-reader')
    const stored = (await kubeRequest('admin', 'GET', secret('cnpg-db1-user-app-reader'))).body
    assert.equal(stored.type, 'kubernetes.io/basic-auth')
    assert.equal(stored.metadata.labels['app.kubernetes.io/managed-by'], 'kmcp')
    assert.equal(stored.metadata.labels['cnpg.io/reload'], 'true', 'CNPG applies password changes at once only for labelled Secrets')
    assert.equal(Buffer.from(stored.data.username, 'base64').toString(), 'app_reader')
    assert.match(Buffer.from(stored.data.password, 'base64').toString(), /^[A-Za-z0-9]{32}$/)

    const pending = await call(admin, 'get_postgres_role_status', {cluster_name: 'db1', role_name: 'app_reader', namespace: ns})
    assert.match(textOf(pending), /not reported by the operator yet/)
    await setDatabaseRoleStatus(ns, 'db1-app-reader', {applied: true, observedGeneration: 1, message: 'reconciled'})
    const status = await call(admin, 'get_postgres_role_status', {cluster_name: 'db1', role_name: 'app_reader', namespace: ns})
    const text = textOf(status)
    for (const line of ['Operator Status', '- Applied: True', '- Login: True', '- Connection Limit: 10', '- Member of: pg_read_all_data', '- Password Secret: cnpg-db1-user-app-reader']) assert.ok(text.includes(line), `${line} in\n${text}`)
    assert.equal((status.structuredContent as {status: {applied: boolean}}).status.applied, true)
  })

  test('the connection URI of a new role names the cluster\'s application database', async () => {
    await makeHealthyCluster(ns, 'shopdb', {instances: 1, spec: {bootstrap: {initdb: {database: 'shop', owner: 'shop'}}}})
    const created = await call(admin, 'create_postgres_role', {cluster_name: 'shopdb', role_name: 'analyst', namespace: ns})
    assert.notEqual(created.isError, true, textOf(created))
    assert.ok(textOf(created).includes(`Connect (password from the Secret): postgresql://analyst@shopdb-rw.${ns}.svc:5432/shop`), textOf(created))
  })

  test('list shows DatabaseRoles and the legacy spec.managed.roles entries', async () => {
    const result = await call(admin, 'list_postgres_roles', {cluster_name: 'db1', namespace: ns, format: 'json'})
    const parsed = JSON.parse(textOf(result)) as {roles: Array<{name: string}>; legacy_managed_roles: string[]}
    assert.ok(parsed.roles.some((r) => r.name === 'app_reader'))
    assert.deepEqual(parsed.legacy_managed_roles, ['legacy_user'])
    const legacy = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'legacy_user', namespace: ns})
    assert.equal(legacy.isError, true)
    assert.match(textOf(legacy), /spec\.managed\.roles/)
  })

  test('a long role list stays within the 25,000-character budget and says what was left out', async () => {
    await makeHealthyCluster(ns, 'big', {instances: 1})
    await Promise.all(
      Array.from({length: 30}, (_, i) =>
        kubeRequest('admin', 'POST', roles(), {apiVersion: 'postgresql.cnpg.io/v1', kind: 'DatabaseRole', metadata: {name: `big-role-${i}`}, spec: {name: `role_${i}`, cluster: {name: 'big'}, comment: 'c'.repeat(1000)}}),
      ),
    )
    for (const format of ['text', 'json']) {
      const result = await call(admin, 'list_postgres_roles', {cluster_name: 'big', namespace: ns, format})
      assert.ok(textOf(result).length <= 25_000, `${format}: ${textOf(result).length} characters`)
      const truncated = (result.structuredContent as {truncated?: {omitted_items: number}}).truncated
      assert.ok(truncated && truncated.omitted_items > 0, format)
      if (format === 'text') assert.match(textOf(result), /more role\(s\) were left out/)
    }
  })

  test('404s: unknown cluster, unknown role', async () => {
    const noCluster = await call(admin, 'create_postgres_role', {cluster_name: 'nope', role_name: 'x1', namespace: ns})
    assert.equal(noCluster.isError, true)
    assert.match(textOf(noCluster), /cluster "nope" was not found/)
    assert.equal((await kubeRequest('admin', 'GET', secret('cnpg-nope-user-x1'))).status, 404)
    const noRole = await call(admin, 'get_postgres_role_status', {cluster_name: 'db1', role_name: 'ghost', namespace: ns})
    assert.equal(noRole.isError, true)
    assert.match(textOf(noRole), /No DatabaseRole for role "ghost"/)
    const list = await call(admin, 'list_postgres_roles', {cluster_name: 'nope', namespace: ns})
    assert.equal(list.isError, true)
  })

  test('409: the role exists, or another object holds the name', async () => {
    const again = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'app_reader', namespace: ns})
    assert.equal(again.isError, true)
    assert.match(textOf(again), /already exists/)
    const squatter = await kubeRequest('admin', 'POST', roles(), {apiVersion: 'postgresql.cnpg.io/v1', kind: 'DatabaseRole', metadata: {name: 'db1-squat'}, spec: {name: 'someone_else', cluster: {name: 'db1'}}})
    assert.equal(squatter.status, 201)
    const clash = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'squat', namespace: ns})
    assert.equal(clash.isError, true)
    assert.match(textOf(clash), /409 AlreadyExists/)
    assert.equal((await kubeRequest('admin', 'GET', secret('cnpg-db1-user-squat'))).status, 404, 'no Secret left behind')
    // "dup_x" and "dup-x" map to the same object and Secret names.
    assert.equal((await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'dup_x', namespace: ns})).isError, undefined)
    const twin = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'dup-x', namespace: ns})
    assert.equal(twin.isError, true)
    assert.match(textOf(twin), /created by kmcp for another role/)
  })

  test('422 from the CRD\'s CEL rules, before any Secret is written', async () => {
    for (const [role, message] of [['pg_sneaky', /reserved by PostgreSQL/], ['postgres', /postgres is reserved/], ['cnpg_x', /reserved by the operator/]] as const) {
      const result = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: role, namespace: ns})
      assert.equal(result.isError, true, role)
      assert.match(textOf(result), /422/)
      assert.match(textOf(result), message)
      assert.equal((await kubeRequest('admin', 'GET', secret(`cnpg-db1-user-${role.replaceAll('_', '-')}`))).status, 404)
    }
  })

  test('a foreign Secret survives a failed and a successful create, and is never deleted', async () => {
    const foreign = await kubeRequest('admin', 'POST', `/api/v1/namespaces/${ns}/secrets`, {metadata: {name: 'cnpg-db1-user-mine'}, type: 'Opaque', stringData: {password: 'hand-made-password-1'}})
    assert.equal(foreign.status, 201)
    const refused = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'mine', namespace: ns})
    assert.equal(refused.isError, true)
    assert.match(textOf(refused), /kmcp did not create/)
    assert.equal((await kubeRequest('admin', 'GET', roles('db1-mine'))).status, 404)
    const afterRefusal = (await kubeRequest('admin', 'GET', secret('cnpg-db1-user-mine'))).body
    assert.equal(afterRefusal.metadata.resourceVersion, foreign.body.metadata.resourceVersion)

    const byo = await kubeRequest('admin', 'POST', `/api/v1/namespaces/${ns}/secrets`, {metadata: {name: 'cnpg-db1-user-byo'}, type: 'kubernetes.io/basic-auth', stringData: {username: 'byo', password: 'hand-made-password-2'}})
    assert.equal(byo.status, 201)
    const created = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'byo', namespace: ns})
    assert.equal(created.isError, undefined, textOf(created))
    assert.match(textOf(created), /not created by kmcp/)
    assert.equal((await kubeRequest('admin', 'GET', secret('cnpg-db1-user-byo'))).body.metadata.resourceVersion, byo.body.metadata.resourceVersion)

    const rotate = await call(admin, 'update_postgres_role', {cluster_name: 'db1', role_name: 'byo', namespace: ns, generate_password: true, confirm_password_change: true})
    assert.equal(rotate.isError, true)
    assert.match(textOf(rotate), /was not created by kmcp/)
    const deleted = await call(admin, 'delete_postgres_role', {cluster_name: 'db1', role_name: 'byo', namespace: ns})
    assert.equal(deleted.isError, undefined, textOf(deleted))
    assert.match(textOf(deleted), /Kept Secret cnpg-db1-user-byo/)
    assert.equal((await kubeRequest('admin', 'GET', secret('cnpg-db1-user-byo'))).body.metadata.resourceVersion, byo.body.metadata.resourceVersion)
  })

  test('when the DatabaseRole create fails after the Secret was made, only that Secret is removed', async () => {
    // An admission policy that lets dry runs through but rejects the real create plays the failure.
    const policyName = `kmcp-test-reject-${ns}`
    const policy = await kubeRequest('admin', 'POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', {
      metadata: {name: policyName},
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {resourceRules: [{apiGroups: ['postgresql.cnpg.io'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['databaseroles']}]},
        validations: [{expression: "request.dryRun == true || object.spec.name != 'doomed'", message: 'doomed roles are rejected by the test policy'}],
      },
    })
    assert.equal(policy.status, 201, policy.text)
    const binding = await kubeRequest('admin', 'POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', {
      metadata: {name: policyName},
      spec: {policyName, validationActions: ['Deny'], matchResources: {namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': ns}}}},
    })
    assert.equal(binding.status, 201, binding.text)
    try {
      let result: CallToolResult | undefined
      // Policies take a moment to be enforced after they are created.
      for (let i = 0; i < 50; i++) {
        result = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'doomed', namespace: ns})
        if (result.isError) break
        await call(admin, 'delete_postgres_role', {cluster_name: 'db1', role_name: 'doomed', namespace: ns})
        await new Promise((r) => setTimeout(r, 200))
      }
      assert.equal(result!.isError, true)
      assert.match(textOf(result!), /doomed roles are rejected/)
      assert.match(textOf(result!), /was removed again/)
      assert.equal((await kubeRequest('admin', 'GET', secret('cnpg-db1-user-doomed'))).status, 404)
      assert.equal((await kubeRequest('admin', 'GET', roles('db1-doomed'))).status, 404)
    } finally {
      await kubeRequest('admin', 'DELETE', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${policyName}`)
      await kubeRequest('admin', 'DELETE', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${policyName}`)
    }
  })

  test('update: dry run stores nothing; changes are listed; a generated password replaces the old one unseen', async () => {
    const before = (await kubeRequest('admin', 'GET', roles('db1-app-reader'))).body
    const preview = await call(admin, 'update_postgres_role', {cluster_name: 'db1', role_name: 'app_reader', namespace: ns, connection_limit: 20, dry_run: true})
    assert.equal(preview.isError, undefined, textOf(preview))
    assert.match(textOf(preview), /connection_limit: 10 -> 20/)
    assert.equal((await kubeRequest('admin', 'GET', roles('db1-app-reader'))).body.metadata.resourceVersion, before.metadata.resourceVersion)

    await outputs.rememberPasswordsIn(ns)
    const oldSecret = (await kubeRequest('admin', 'GET', secret('cnpg-db1-user-app-reader'))).body
    const unconfirmed = await call(admin, 'update_postgres_role', {cluster_name: 'db1', role_name: 'app_reader', namespace: ns, generate_password: true})
    assert.equal(unconfirmed.isError, true, 'a password change needs confirmation')
    assert.match(textOf(unconfirmed), /^REFUSED: update_postgres_role[\s\S]*"confirm_password_change":true/)
    assert.equal((await kubeRequest('admin', 'GET', secret('cnpg-db1-user-app-reader'))).body.metadata.resourceVersion, oldSecret.metadata.resourceVersion)
    const result = await call(admin, 'update_postgres_role', {cluster_name: 'db1', role_name: 'app_reader', namespace: ns, connection_limit: 20, in_roles: [], createdb: true, generate_password: true, confirm_password_change: true})
    assert.equal(result.isError, undefined, textOf(result))
    const text = textOf(result)
    assert.match(text, /connection_limit: 10 -> 20/)
    assert.match(text, /in_roles: \[pg_read_all_data\] -> \[\]/)
    assert.match(text, /createdb: false -> true/)
    assert.match(text, /password: replaced in Secret cnpg-db1-user-app-reader \(not shown\)/)
    const updated = (await kubeRequest('admin', 'GET', roles('db1-app-reader'))).body
    assert.equal(updated.spec.connectionLimit, 20)
    assert.equal(updated.spec.createdb, true)
    const newSecret = (await kubeRequest('admin', 'GET', secret('cnpg-db1-user-app-reader'))).body
    assert.notEqual(newSecret.data.password, oldSecret.data.password)

    await outputs.rememberPasswordsIn(ns)
    const explicit = await call(admin, 'update_postgres_role', {cluster_name: 'db1', role_name: 'app_reader', namespace: ns, password: 'Explicit-Pass-Value-77', confirm_password_change: true})
    assert.equal(explicit.isError, undefined, textOf(explicit))
    const explicitSecret = (await kubeRequest('admin', 'GET', secret('cnpg-db1-user-app-reader'))).body
    assert.equal(Buffer.from(explicitSecret.data.password, 'base64').toString(), 'Explicit-Pass-Value-77')
    const tooShort = await call(admin, 'update_postgres_role', {cluster_name: 'db1', role_name: 'app_reader', namespace: ns, password: 'short'})
    assert.equal(tooShort.isError, true)
    assert.ok(!textOf(tooShort).includes('short"'), 'the rejected password is not echoed')

    const same = await call(admin, 'update_postgres_role', {cluster_name: 'db1', role_name: 'app_reader', namespace: ns, connection_limit: 20})
    assert.match(textOf(same), /No updates specified/)
    const contradiction = await call(admin, 'update_postgres_role', {cluster_name: 'db1', role_name: 'app_reader', namespace: ns, login: false})
    assert.equal(contradiction.isError, undefined, 'login=false is fine without a client certificate')
    const cert = await call(admin, 'update_postgres_role', {cluster_name: 'db1', role_name: 'app_reader', namespace: ns, client_certificate: true})
    assert.equal(cert.isError, true)
    assert.match(textOf(cert), /requires login/)
  })

  test('certificate-only role: no password, no Secret; re-enabling the password makes a kmcp Secret', async () => {
    const created = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'cert_only', namespace: ns, disable_password: true, client_certificate: true, reclaim_policy: 'delete'})
    assert.equal(created.isError, undefined, textOf(created))
    assert.match(textOf(created), /Secret db1-cert-only-client-cert/)
    const role = (await kubeRequest('admin', 'GET', roles('db1-cert-only'))).body
    assert.equal(role.spec.disablePassword, true)
    assert.equal(role.spec.passwordSecret, undefined)
    assert.equal(role.spec.clientCertificate.enabled, true)
    assert.equal(role.spec.databaseRoleReclaimPolicy, 'delete')
    assert.equal((await kubeRequest('admin', 'GET', secret('cnpg-db1-user-cert-only'))).status, 404)
    const noLogin = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'cert_nologin', namespace: ns, login: false, client_certificate: true})
    assert.equal(noLogin.isError, true)
    assert.match(textOf(noLogin), /requires login=true/)

    const enabled = await call(admin, 'update_postgres_role', {cluster_name: 'db1', role_name: 'cert_only', namespace: ns, disable_password: false})
    assert.equal(enabled.isError, undefined, textOf(enabled))
    assert.match(textOf(enabled), /disable_password: true -> false/)
    const after = (await kubeRequest('admin', 'GET', roles('db1-cert-only'))).body
    assert.equal(after.spec.disablePassword, undefined)
    assert.equal(after.spec.passwordSecret.name, 'cnpg-db1-user-cert-only')
    const made = (await kubeRequest('admin', 'GET', secret('cnpg-db1-user-cert-only'))).body
    assert.equal(made.metadata.labels['app.kubernetes.io/managed-by'], 'kmcp')
  })

  test('403 until bound, then success (view for reads; edit plus Secrets for create)', async () => {
    const denied = await call(alice, 'list_postgres_roles', {cluster_name: 'db1', namespace: ns})
    assert.equal(denied.isError, true)
    assert.match(textOf(denied), /403/)
    await bindRole(ns, 'alice', 'cnpg-cloudnative-pg-view')
    const listed = await call(alice, 'list_postgres_roles', {cluster_name: 'db1', namespace: ns})
    assert.equal(listed.isError, undefined, textOf(listed))

    const noEdit = await call(alice, 'create_postgres_role', {cluster_name: 'db1', role_name: 'alice_role', namespace: ns})
    assert.equal(noEdit.isError, true)
    assert.match(textOf(noEdit), /403/)
    await bindRole(ns, 'alice', 'cnpg-cloudnative-pg-edit')
    const noSecrets = await call(alice, 'create_postgres_role', {cluster_name: 'db1', role_name: 'alice_role', namespace: ns})
    assert.equal(noSecrets.isError, true)
    assert.match(textOf(noSecrets), /may not get Secrets/)
    assert.equal((await kubeRequest('admin', 'GET', roles('db1-alice-role'))).status, 404)
    await bindRole(ns, 'alice', SECRETS_CLUSTER_ROLE)
    const created = await call(alice, 'create_postgres_role', {cluster_name: 'db1', role_name: 'alice_role', namespace: ns})
    assert.equal(created.isError, undefined, textOf(created))
  })

  test('delete: retained role needs no confirmation; dropping does; orphaned kmcp Secrets are cleaned up', async () => {
    const made = await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'temp_a', namespace: ns})
    assert.equal(made.isError, undefined, textOf(made))
    await outputs.rememberPasswordsIn(ns)
    const dry = await call(admin, 'delete_postgres_role', {cluster_name: 'db1', role_name: 'temp_a', namespace: ns, drop_role: true, dry_run: true})
    assert.equal(dry.isError, undefined, textOf(dry))
    assert.match(textOf(dry), /will be dropped/)
    assert.equal((await kubeRequest('admin', 'GET', roles('db1-temp-a'))).status, 200)

    const unconfirmed = await call(admin, 'delete_postgres_role', {cluster_name: 'db1', role_name: 'temp_a', namespace: ns, drop_role: true})
    assert.equal(unconfirmed.isError, true, 'an unconfirmed drop is an error')
    assert.match(textOf(unconfirmed), /^REFUSED[\s\S]*"confirm_deletion":true/)
    assert.equal((await kubeRequest('admin', 'GET', roles('db1-temp-a'))).status, 200)
    const confirmed = await call(admin, 'delete_postgres_role', {cluster_name: 'db1', role_name: 'temp_a', namespace: ns, drop_role: true, confirm_deletion: true})
    assert.equal(confirmed.isError, undefined, textOf(confirmed))
    assert.match(textOf(confirmed), /will be dropped from PostgreSQL/)
    assert.equal((await kubeRequest('admin', 'GET', roles('db1-temp-a'))).status, 404)
    assert.equal((await kubeRequest('admin', 'GET', secret('cnpg-db1-user-temp-a'))).status, 404)

    await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'temp_b', namespace: ns})
    await outputs.rememberPasswordsIn(ns)
    const retained = await call(admin, 'delete_postgres_role', {cluster_name: 'db1', role_name: 'temp_b', namespace: ns})
    assert.equal(retained.isError, undefined, textOf(retained))
    assert.match(textOf(retained), /will be retained in PostgreSQL/)

    await call(admin, 'create_postgres_role', {cluster_name: 'db1', role_name: 'temp_c', namespace: ns})
    await outputs.rememberPasswordsIn(ns)
    assert.equal((await kubeRequest('admin', 'DELETE', roles('db1-temp-c'))).status, 200)
    const orphan = await call(admin, 'delete_postgres_role', {cluster_name: 'db1', role_name: 'temp_c', namespace: ns})
    assert.match(textOf(orphan), /Cleaned up orphaned PostgreSQL role secret cnpg-db1-user-temp-c/)
    await outputs.rememberPasswordsIn(ns)
    const nothing = await call(admin, 'delete_postgres_role', {cluster_name: 'db1', role_name: 'temp_c', namespace: ns})
    assert.equal(nothing.isError, true)
    assert.match(textOf(nothing), /nothing to delete/)
  })
})
