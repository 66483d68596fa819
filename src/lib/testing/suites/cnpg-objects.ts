import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {fail, pass, skip, type PluginOutcome, type TestPlugin, type TestSession} from '../plugin.ts'
import {errorSummary} from '../runner.ts'
import {callOk, firstLine, inNamespace, names, step, textOf} from './cnpg-support.ts'

/**
 * The cnpg suite's plugins for Poolers, Publications/Subscriptions and PostgreSQL upgrades, on the
 * suite's test cluster: a pooler and a publication are really created (named after the cluster, so
 * confirmation requests about them are accepted), changed and deleted; a cleanup plugin deletes
 * them when a failure left them behind. Subscriptions and upgrades are previewed only.
 */
const GROUP = 'cnpg'

const poolerName = (session: TestSession) => `${names(session).cluster}-pooler-rw`
const publicationName = (session: TestSession) => `${names(session).cluster}-pub`

/** What this run created here and has not deleted yet. */
function leftovers(session: TestSession): Set<'pooler' | 'publication'> {
  let value = session.shared.get('cnpg.objects.created') as Set<'pooler' | 'publication'> | undefined
  if (!value) {
    value = new Set()
    session.shared.set('cnpg.objects.created', value)
  }
  return value
}

/** A missing object is reported as a 404 that names the list tool. */
async function notFoundNames(session: TestSession, tool: string, listTool: string): Promise<PluginOutcome> {
  const missing = `${names(session).cluster}-missing`
  const result: CallToolResult = await session.callTool(tool, inNamespace(session, {name: missing}))
  const text = textOf(result)
  if (result.isError && /404/.test(text) && text.includes(listTool)) return pass(`a missing one is a 404 naming ${listTool}`)
  return fail(`${tool} on the missing ${missing} did not answer 404 naming ${listTool}`, text)
}

function plugin(name: string, tool: string, description: string, options: {dependsOn?: string[]; runAfter?: string[]}, test: (session: TestSession) => Promise<PluginOutcome>): TestPlugin {
  return {name, group: GROUP, tool, description, dependsOn: options.dependsOn, runAfter: options.runAfter, test: (session) => step(() => test(session))}
}

export const objectPlugins: TestPlugin[] = [
  plugin('get_pooler_missing', 'get_pooler', 'get_pooler reports a missing pooler as 404 naming list_poolers', {}, (session) => notFoundNames(session, 'get_pooler', 'list_poolers')),
  plugin('create_pooler', 'create_pooler', 'create_pooler creates a rw pooler for the new cluster', {dependsOn: ['create_cluster'], runAfter: ['pooler_preview']}, async (session) => {
    session.ownObject(poolerName(session))
    const call = await callOk(session, 'create_pooler', {cluster: names(session).cluster, type: 'rw', instances: 1})
    leftovers(session).add('pooler')
    return pass(firstLine(call.text))
  }),
  plugin('get_pooler', 'get_pooler', 'get_pooler shows the new pooler with its PgBouncer pods', {dependsOn: ['create_pooler']}, async (session) => {
    const call = await callOk(session, 'get_pooler', {name: poolerName(session), format: 'json'})
    if (call.structured.cluster !== names(session).cluster) return fail('get_pooler does not name the cluster', call.text)
    return pass(`${String(call.structured.ready_pods ?? '?')}/${String(call.structured.instances)} PgBouncer pod(s) ready`)
  }),
  plugin('scale_pooler', 'scale_pooler', 'scale_pooler previews 2 PgBouncer pods', {dependsOn: ['create_pooler'], runAfter: ['get_pooler']}, async (session) => pass(firstLine((await callOk(session, 'scale_pooler', {name: poolerName(session), instances: 2, dry_run: true})).text))),
  plugin('pause_pooler', 'pause_pooler', 'pause_pooler pauses the new pooler', {dependsOn: ['create_pooler'], runAfter: ['scale_pooler']}, async (session) => {
    const call = await callOk(session, 'pause_pooler', {name: poolerName(session), confirm: true})
    return /^Successfully paused/.test(call.text) ? pass(firstLine(call.text)) : fail('the pooler was not paused', call.text)
  }),
  plugin('resume_pooler', 'resume_pooler', 'resume_pooler resumes it', {dependsOn: ['create_pooler'], runAfter: ['pause_pooler']}, async (session) => {
    const call = await callOk(session, 'resume_pooler', {name: poolerName(session)})
    return /^Successfully resumed|not paused/.test(call.text) ? pass(firstLine(call.text)) : fail('the pooler was not resumed', call.text)
  }),
  plugin('delete_pooler', 'delete_pooler', 'delete_pooler deletes the new pooler', {dependsOn: ['create_pooler'], runAfter: ['resume_pooler']}, async (session) => {
    const call = await callOk(session, 'delete_pooler', {name: poolerName(session), confirm_deletion: true})
    if (!/^Successfully deleted/.test(call.text)) return fail('the pooler was not deleted', call.text)
    leftovers(session).delete('pooler')
    return pass(firstLine(call.text))
  }),
  plugin('list_publications', 'list_publications', 'list_publications answers for the namespace', {}, async (session) => pass(firstLine((await callOk(session, 'list_publications', {})).text))),
  plugin('create_publication', 'create_publication', 'create_publication publishes all tables of the new cluster\'s app database', {dependsOn: ['create_cluster'], runAfter: ['list_publications']}, async (session) => {
    session.ownObject(publicationName(session))
    const call = await callOk(session, 'create_publication', {name: publicationName(session), cluster: names(session).cluster, database: 'app', all_tables: true})
    leftovers(session).add('publication')
    return pass(firstLine(call.text))
  }),
  plugin('get_publication', 'get_publication', 'get_publication reports the new publication', {dependsOn: ['create_publication']}, async (session) => {
    const call = await callOk(session, 'get_publication', {name: publicationName(session), format: 'json'})
    return pass(`applied: ${String(call.structured.applied)}${call.structured.message ? ` (${String(call.structured.message)})` : ''}`)
  }),
  plugin('delete_publication', 'delete_publication', 'delete_publication deletes the new publication', {dependsOn: ['create_publication'], runAfter: ['get_publication']}, async (session) => {
    const call = await callOk(session, 'delete_publication', {name: publicationName(session), confirm_deletion: true})
    if (!/^Successfully deleted/.test(call.text)) return fail('the publication was not deleted', call.text)
    leftovers(session).delete('publication')
    return pass(firstLine(call.text))
  }),
  plugin('list_subscriptions', 'list_subscriptions', 'list_subscriptions answers for the namespace', {}, async (session) => pass(firstLine((await callOk(session, 'list_subscriptions', {})).text))),
  plugin('get_subscription_missing', 'get_subscription', 'get_subscription reports a missing subscription as 404 naming list_subscriptions', {}, (session) => notFoundNames(session, 'get_subscription', 'list_subscriptions')),
  plugin('create_subscription_preview', 'create_subscription', 'create_subscription refuses a source the cluster has no external cluster for, naming what it has', {dependsOn: ['create_cluster']}, async (session) => {
    const result = await session.callTool('create_subscription', inNamespace(session, {name: `${names(session).cluster}-sub`, cluster: names(session).cluster, database: 'app', publication_name: 'kmcp_test_pub', external_cluster: 'kmcp-test-nowhere', dry_run: true}))
    const text = textOf(result)
    if (result.isError && /externalClusters/.test(text)) return pass(`refused: ${firstLine(text)}`)
    if (!result.isError) return fail('a subscription to an external cluster that does not exist was accepted', text)
    return fail('create_subscription failed without naming the external clusters', text)
  }),
  plugin('delete_subscription_missing', 'delete_subscription', 'delete_subscription reports a missing subscription as 404', {}, (session) => notFoundNames(session, 'delete_subscription', 'list_subscriptions')),
  plugin('get_upgrade_status', 'get_cluster_upgrade_status', 'get_cluster_upgrade_status reports the new cluster', {dependsOn: ['create_cluster']}, async (session) => {
    const call = await callOk(session, 'get_cluster_upgrade_status', {name: names(session).cluster})
    return call.text.includes(names(session).cluster) ? pass(firstLine(call.text.split('\n').slice(1).join('\n')) || firstLine(call.text)) : fail('the answer does not name the cluster', call.text)
  }),
  plugin('upgrade_preview', 'upgrade_postgres_cluster', 'upgrade_postgres_cluster with dry_run=true previews an update to the image the cluster runs (or says it already runs it)', {dependsOn: ['create_cluster'], runAfter: ['get_upgrade_status']}, async (session) => {
    const status = await callOk(session, 'get_cluster_upgrade_status', {name: names(session).cluster, format: 'json'})
    const image = status.structured.running_image
    if (typeof image !== 'string') return skip('the operator has not reported the image the cluster runs yet')
    return pass(firstLine((await callOk(session, 'upgrade_postgres_cluster', {name: names(session).cluster, image, dry_run: true})).text))
  }),
]

/**
 * Deletes the pooler and publication this run created when a failure left them behind; run by the
 * suite's cleanup plugin before it deletes the cluster (see withDiagnosis).
 */
export async function cleanupObjects(session: TestSession): Promise<{done: string[]; problems: string[]}> {
  const left = leftovers(session)
  const problems: string[] = []
  const done: string[] = []
  for (const [kind, tool, name] of [['pooler', 'delete_pooler', poolerName(session)], ['publication', 'delete_publication', publicationName(session)]] as const) {
    if (!left.has(kind)) continue
    try {
      const result = await session.callTool(tool, inNamespace(session, {name, confirm_deletion: true}))
      if (result.isError && !/404/.test(textOf(result))) problems.push(`${kind} ${name}: ${firstLine(textOf(result))}`)
      else {
        left.delete(kind)
        done.push(`${kind} ${name}`)
      }
    } catch (error) {
      problems.push(`${kind} ${name}: ${errorSummary(error)}`)
    }
  }
  return {done, problems}
}
