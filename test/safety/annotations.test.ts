// Every tool's annotations agree with what it does, proved by what reaches the API server: a
// counting proxy in front of the harness records every request kmcp makes.
// - destructiveHint tools refuse without confirmation: isError, the exact call, no write request;
// - every mutating tool's dry run sends only dryRun=All writes;
// - read-only tools send no write request at all.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import type {Tool} from '@modelcontextprotocol/sdk/types.js'
import {createNamespace, kubeRequest} from '../support/kube.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {type CountingProxy, startCountingProxy} from '../support/counting-proxy.ts'
import {cnpg, connectEliciting, ok, waitForCnpgStorage, type ElicitingSession} from '../cluster-tools/helpers.ts'

/** Arguments that make each destructive tool do its destructive thing (namespace added by the test). */
const DESTRUCTIVE_CALLS: Record<string, Record<string, unknown>> = {
  delete_postgres_cluster: {name: 'c'},
  scale_postgres_cluster: {name: 'c', instances: 2},
  resize_postgres_cluster: {name: 'c', storage_size: '1Gi'},
  delete_cluster_instance: {name: 'c', instance: 'c-3'},
  delete_scheduled_backup: {name: 'sb'},
  restore_postgres_cluster: {name: 'c', source_cluster: 'src'},
  hibernate_postgres_cluster: {name: 'c'},
  restart_postgres_cluster: {name: 'c'},
  update_postgres_role: {cluster_name: 'c', role_name: 'app_role', generate_password: true},
  delete_postgres_role: {cluster_name: 'c', role_name: 'app_role'},
  delete_postgres_database: {cluster_name: 'c', database_name: 'shop'},
  scale_pooler: {name: 'pool', instances: 0},
  pause_pooler: {name: 'pool'},
  delete_pooler: {name: 'pool'},
  delete_publication: {name: 'pub'},
  delete_subscription: {name: 'sub'},
  upgrade_postgres_cluster: {name: 'c', image: 'ghcr.io/cloudnative-pg/postgresql:18.3-system-trixie'},
}

/** The other mutating tools, with arguments that make a real change. */
const OTHER_MUTATING_CALLS: Record<string, Record<string, unknown>> = {
  create_postgres_cluster: {name: 'd', instances: 1, storage_size: '1Gi'},
  create_backup: {cluster: 'src', name: 'src-now'},
  create_scheduled_backup: {name: 'sb2', cluster: 'src', schedule: '0 0 2 * * *'},
  promote_cluster_instance: {name: 'c', instance: 'c-2'},
  resume_postgres_cluster: {name: 'hib'},
  create_postgres_role: {cluster_name: 'c', role_name: 'other_role'},
  create_postgres_database: {cluster_name: 'c', database_name: 'shop2', owner: 'app_role'},
  admin_reload_prompts: {},
  create_pooler: {cluster: 'c', name: 'pool2'},
  resume_pooler: {name: 'paused-pool'},
  create_publication: {name: 'pub2', cluster: 'c', database: 'app', all_tables: true},
  create_subscription: {name: 'sub2', cluster: 'tgt', database: 'app', publication_name: 'pub', external_cluster: 'c'},
}

const READ_CALLS: Record<string, Record<string, unknown>> = {
  list_postgres_clusters: {},
  get_cluster_status: {name: 'c', detail_level: 'detailed'},
  get_cluster_resize_status: {name: 'c'},
  list_backups: {},
  get_backup: {name: 'b'},
  list_scheduled_backups: {},
  list_postgres_roles: {cluster_name: 'c'},
  get_postgres_role_status: {cluster_name: 'c', role_name: 'app_role'},
  list_postgres_databases: {cluster_name: 'c'},
  get_postgres_database_status: {cluster_name: 'c', database_name: 'shop'},
  get_connection_info: {cluster_name: 'c', role_name: 'app_role'},
  admin_get_prompt_manifest: {},
  get_cluster_logs: {name: 'c'},
  list_cluster_events: {name: 'c'},
  list_poolers: {},
  get_pooler: {name: 'pool'},
  list_publications: {},
  get_publication: {name: 'pub'},
  list_subscriptions: {},
  get_subscription: {name: 'sub'},
  get_cluster_upgrade_status: {name: 'c'},
}

/** The confirm flag a destructive tool declares: its one boolean "confirm*" parameter. */
function confirmFlagOf(tool: Tool): string {
  const flags = Object.keys(tool.inputSchema.properties ?? {}).filter((p) => p.startsWith('confirm'))
  assert.equal(flags.length, 1, `${tool.name} has exactly one confirm flag (${flags.join(', ')})`)
  return flags[0]
}

describe('annotations agree with behaviour (counted at the API server)', () => {
  let ns: string
  let proxy: CountingProxy
  let session: StdioSession
  let human: ElicitingSession
  let tools: Tool[]

  before(async () => {
    ns = await createNamespace('safety-ann')
    await waitForCnpgStorage(ns, ['clusters', 'backups', 'scheduledbackups', 'databases', 'databaseroles', 'poolers', 'publications', 'subscriptions'])
    proxy = await startCountingProxy()
    session = await connectStdio({kubeconfig: proxy.kubeconfigFor('admin', ns)})
    human = await connectEliciting('admin')
    await makeHealthyCluster(ns, 'c', {instances: 3, withPods: true, storageSize: '2Gi'})
    await makeHealthyCluster(ns, 'hib', {instances: 1})
    await kubeRequest('admin', 'PATCH', cnpg(ns, 'clusters', 'hib'), {metadata: {annotations: {'cnpg.io/hibernation': 'on'}}}, {contentType: 'application/merge-patch+json'})
    const src = await kubeRequest('admin', 'POST', cnpg(ns, 'clusters'), {apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: {name: 'src'}, spec: {instances: 1, storage: {size: '1Gi'}, backup: {barmanObjectStore: {destinationPath: 's3://backups/src', s3Credentials: {inheritFromIAMRole: true}}}}})
    assert.equal(src.status, 201, src.text)
    const sb = await kubeRequest('admin', 'POST', cnpg(ns, 'scheduledbackups'), {apiVersion: 'postgresql.cnpg.io/v1', kind: 'ScheduledBackup', metadata: {name: 'sb'}, spec: {cluster: {name: 'src'}, schedule: '0 0 1 * * *', backupOwnerReference: 'self'}})
    assert.equal(sb.status, 201, sb.text)
    const b = await kubeRequest('admin', 'POST', cnpg(ns, 'backups'), {apiVersion: 'postgresql.cnpg.io/v1', kind: 'Backup', metadata: {name: 'b'}, spec: {cluster: {name: 'src'}}})
    assert.equal(b.status, 201, b.text)
    await makeHealthyCluster(ns, 'tgt', {instances: 1, spec: {externalClusters: [{name: 'c', connectionParameters: {host: 'c-rw', user: 'app', dbname: 'app'}, password: {name: 'c-app', key: 'password'}}]}})
    for (const [name, paused] of [['pool', false], ['paused-pool', true]] as const) {
      const pooler = await kubeRequest('admin', 'POST', cnpg(ns, 'poolers'), {apiVersion: 'postgresql.cnpg.io/v1', kind: 'Pooler', metadata: {name}, spec: {cluster: {name: 'c'}, type: 'rw', instances: 1, pgbouncer: {poolMode: 'session', paused}}})
      assert.equal(pooler.status, 201, pooler.text)
    }
    const pub = await kubeRequest('admin', 'POST', cnpg(ns, 'publications'), {apiVersion: 'postgresql.cnpg.io/v1', kind: 'Publication', metadata: {name: 'pub'}, spec: {cluster: {name: 'c'}, name: 'pub', dbname: 'app', target: {allTables: true}}})
    assert.equal(pub.status, 201, pub.text)
    const sub = await kubeRequest('admin', 'POST', cnpg(ns, 'subscriptions'), {apiVersion: 'postgresql.cnpg.io/v1', kind: 'Subscription', metadata: {name: 'sub'}, spec: {cluster: {name: 'tgt'}, name: 'sub', dbname: 'app', publicationName: 'pub', externalClusterName: 'c'}})
    assert.equal(sub.status, 201, sub.text)
    await ok(session, 'create_postgres_role', {cluster_name: 'c', role_name: 'app_role', login: true, reclaim_policy: 'delete'})
    await ok(session, 'create_postgres_database', {cluster_name: 'c', database_name: 'shop', owner: 'app_role', reclaim_policy: 'delete'})
    tools = (await session.client.listTools()).tools
  })

  after(async () => {
    await Promise.all([session?.close(), human?.close()])
    await proxy?.close()
  })

  test('every listed tool is covered by this test, and the annotations decide the tables', () => {
    for (const tool of tools) {
      const a = tool.annotations ?? {}
      if (a.destructiveHint) assert.ok(DESTRUCTIVE_CALLS[tool.name], `destructive tool ${tool.name} needs a case in DESTRUCTIVE_CALLS`)
      else if (a.readOnlyHint) assert.ok(READ_CALLS[tool.name], `read tool ${tool.name} needs a case in READ_CALLS`)
      else assert.ok(OTHER_MUTATING_CALLS[tool.name], `mutating tool ${tool.name} needs a case in OTHER_MUTATING_CALLS`)
    }
    const listed = new Set(tools.map((t) => t.name))
    for (const name of [...Object.keys(DESTRUCTIVE_CALLS), ...Object.keys(OTHER_MUTATING_CALLS), ...Object.keys(READ_CALLS)]) assert.ok(listed.has(name), `${name} is listed`)
  })

  test('each destructive tool refuses without confirmation: isError, the exact call, an audit line, and no write request', async () => {
    for (const tool of tools.filter((t) => t.annotations?.destructiveHint)) {
      const flag = confirmFlagOf(tool)
      const before = proxy.requests.length
      const result = await callTool(session.client, tool.name, {...DESTRUCTIVE_CALLS[tool.name], namespace: ns})
      const text = textOf(result)
      assert.equal(result.isError, true, `${tool.name} without ${flag} must fail: ${text}`)
      assert.match(text, new RegExp(`^REFUSED: ${tool.name} did not run`), text)
      assert.match(text, /Nothing was changed in Kubernetes/)
      assert.ok(text.includes(`${tool.name}(`) && text.includes(`"${flag}":true`), `${tool.name}: the refusal gives the exact call with ${flag}=true:\n${text}`)
      const structured = result.structuredContent as {status?: string; reason?: string; retry_call?: string}
      assert.equal(structured?.status, 'refused')
      assert.equal(structured?.reason, 'confirmation_missing')
      assert.deepEqual(proxy.writes(before), [], `${tool.name} sent no write request`)
    }
    const refusals = session.stderr().split('\n').filter((l) => l.includes('"kind":"audit"') && l.includes('"result":"refused"'))
    for (const tool of tools.filter((t) => t.annotations?.destructiveHint)) {
      assert.ok(refusals.some((l) => l.includes(`"tool":"${tool.name}"`) && l.includes('"reason":"confirmation_missing"') && l.includes('"user":')), `audit line for the refusal of ${tool.name}`)
    }
  })

  test('the human\'s "no" wins over the flag: declined, isError, nothing written', async () => {
    human.answer = 'decline'
    const session2 = human
    const result = await callTool(session2.client, 'delete_postgres_cluster', {name: 'c', namespace: ns, confirm_deletion: true})
    assert.equal(result.isError, true, textOf(result))
    assert.match(textOf(result), /the human declined/)
    assert.equal((result.structuredContent as {reason?: string}).reason, 'human_declined')
    assert.match(human.questions.at(-1) ?? '', /Deleting cluster .*\/c destroys/)
    assert.equal((await kubeRequest('admin', 'GET', cnpg(ns, 'clusters', 'c'))).status, 200)
  })

  test('a non-destructive case of a confirming tool needs no confirmation (scale up)', async () => {
    const result = await callTool(session.client, 'scale_postgres_cluster', {name: 'c', namespace: ns, instances: 4, dry_run: true})
    assert.notEqual(result.isError, true, textOf(result))
    assert.doesNotMatch(textOf(result), /confirm_scale_down/)
  })

  test('every mutating tool\'s dry run sends only dryRun=All writes, and says how to apply', async () => {
    for (const tool of tools.filter((t) => !t.annotations?.readOnlyHint)) {
      const args = DESTRUCTIVE_CALLS[tool.name] ?? OTHER_MUTATING_CALLS[tool.name]
      const before = proxy.requests.length
      const result = await callTool(session.client, tool.name, {...args, ...(tool.name === 'admin_reload_prompts' ? {} : {namespace: ns}), dry_run: true})
      assert.notEqual(result.isError, true, `${tool.name} dry run: ${textOf(result)}`)
      assert.deepEqual(proxy.writes(before), [], `${tool.name}: a dry run writes nothing`)
      const structured = result.structuredContent as {status?: string; dry_run?: {apply_call?: string; requests?: unknown[]}}
      if (tool.name === 'admin_reload_prompts') continue
      assert.equal(structured.status, 'dry_run', `${tool.name}: ${textOf(result)}`)
      assert.ok((structured.dry_run?.requests ?? []).length > 0, `${tool.name}: the API server checked at least one request`)
      assert.ok(structured.dry_run?.apply_call?.startsWith(`${tool.name}(`), `${tool.name} apply call: ${structured.dry_run?.apply_call}`)
      assert.ok(!structured.dry_run?.apply_call?.includes('dry_run'), 'the apply call has no dry_run')
    }
  })

  test('read-only tools make no write request', async () => {
    for (const tool of tools.filter((t) => t.annotations?.readOnlyHint)) {
      const before = proxy.requests.length
      const result = await callTool(session.client, tool.name, {...READ_CALLS[tool.name], ...(tool.name.startsWith('admin_') ? {} : {namespace: ns})})
      assert.notEqual(result.isError, true, `${tool.name}: ${textOf(result)}`)
      assert.deepEqual(proxy.requests.slice(before).filter((r) => r.method !== 'GET'), [], `${tool.name} only reads`)
    }
  })

  test('unknown arguments are refused with the list of parameters, before any request', async () => {
    const before = proxy.requests.length
    const result = await callTool(session.client, 'hibernate_postgres_cluster', {name: 'c', namespace: ns, confirm: true, wiat: true})
    assert.equal(result.isError, true)
    assert.match(textOf(result), /unknown argument\(s\) "wiat": hibernate_postgres_cluster takes only name, namespace, confirm, wait, timeout, dry_run, format/)
    assert.equal(proxy.requests.length, before)
  })
})
