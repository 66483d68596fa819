import {fail, pass, skip, type PluginOutcome, type TestPlugin, type TestSession} from '../plugin.ts'
import {NO_INSTANCES, callOk, firstLine, names, readyInstances, step} from './cnpg-support.ts'
import {cleanupObjects, objectPlugins} from './cnpg-objects.ts'

/**
 * The cnpg suite's plugins for the diagnosis tools, run on the suite's test cluster before it is
 * deleted: events, logs and the live status of get_cluster_status. Kept apart from cnpg.ts (which
 * holds the lifecycle) and joined to it by withDiagnosis.
 */
const GROUP = 'cnpg'

const diagnosePlugins: TestPlugin[] = [
  {
    name: 'cluster_events',
    group: GROUP,
    tool: 'list_cluster_events',
    description: 'list_cluster_events lists the events of the new cluster and its objects',
    dependsOn: ['create_cluster'],
    runAfter: ['scale_cluster'],
    test: (session) =>
      step(async () => {
        const {cluster} = names(session)
        const call = await callOk(session, 'list_cluster_events', {name: cluster, format: 'json'})
        const events = call.structured.events
        if (!Array.isArray(events)) return fail('structuredContent.events is not a list', call.text)
        const foreign = (events as Array<{object?: string}>).filter((e) => !(e.object ?? '').includes(cluster))
        if (foreign.length > 0) return fail(`events of objects that are not the cluster's: ${foreign.map((e) => e.object).join(', ')}`, call.text)
        return pass(`${events.length} distinct event(s) for ${cluster}`)
      }),
  },
  {
    name: 'cluster_logs',
    group: GROUP,
    tool: 'get_cluster_logs',
    description: 'get_cluster_logs reads and parses the logs of the new cluster\'s pods',
    dependsOn: ['create_cluster'],
    runAfter: ['cluster_events'],
    test: (session) =>
      step(async () => {
        if ((await readyInstances(session)) === 0) return skip(NO_INSTANCES)
        const call = await callOk(session, 'get_cluster_logs', {name: names(session).cluster, limit: 20, format: 'json'})
        const pods = (call.structured.pods ?? []) as Array<{pod: string; problem?: string; lines_read: number}>
        const read = pods.filter((p) => !p.problem && p.lines_read > 0)
        if (read.length === 0) return fail('no pod\'s log could be read', pods.map((p) => `${p.pod}: ${p.problem ?? 'empty'}`).join('\n'))
        const entries = (call.structured.entries ?? []) as unknown[]
        if (entries.length === 0) return fail('the logs were read but no entry came back', call.text)
        return pass(`${call.structured.matched} entries from ${read.length} pod(s)`)
      }),
  },
  {
    name: 'cluster_live_status',
    group: GROUP,
    tool: 'get_cluster_status',
    description: 'get_cluster_status detail_level="detailed" shows the live status of each instance (needs pods/proxy)',
    dependsOn: ['create_cluster'],
    runAfter: ['cluster_logs'],
    test: (session) =>
      step(async () => {
        if ((await readyInstances(session)) === 0) return skip(NO_INSTANCES)
        const call = await callOk(session, 'get_cluster_status', {name: names(session).cluster, detail_level: 'detailed', format: 'json'})
        const live = call.structured.live_status as {instances?: Array<{instance: string; role: string; problem?: string}>; unavailable?: string} | undefined
        if (!live) return fail('detailed status has no live_status', call.text)
        if (live.unavailable) return /pods\/proxy/.test(live.unavailable) ? skip(`kmcp may not use the pod proxy (opt-in): ${firstLine(live.unavailable)}`) : fail(`live status unavailable: ${firstLine(live.unavailable)}`, call.text)
        const primary = live.instances?.find((i) => i.role === 'primary')
        if (!primary) return fail('no instance reports itself as primary', JSON.stringify(live.instances, null, 2))
        return pass(`primary ${primary.instance}; ${live.instances?.length} instance(s) answered`)
      }),
  },
  {
    name: 'list_poolers',
    group: GROUP,
    tool: 'list_poolers',
    description: 'list_poolers answers for the namespace',
    test: (session) =>
      step(async () => {
        const call = await callOk(session, 'list_poolers', {format: 'json'})
        if (!Array.isArray(call.structured.poolers)) return fail('structuredContent.poolers is not a list', call.text)
        return pass(`${(call.structured.poolers as unknown[]).length} pooler(s) in ${String(call.structured.scope)}`)
      }),
  },
  {
    name: 'pooler_preview',
    group: GROUP,
    tool: 'create_pooler',
    description: 'create_pooler with dry_run=true previews a PgBouncer pooler for the new cluster and stores nothing',
    dependsOn: ['create_cluster'],
    runAfter: ['list_poolers'],
    test: (session) =>
      step(async () => {
        const {cluster} = names(session)
        const call = await callOk(session, 'create_pooler', {cluster, type: 'rw', dry_run: true})
        if (!call.text.includes(`${cluster}-pooler-rw`)) return fail('the preview does not name the pooler', call.text)
        const listed = await callOk(session, 'list_poolers', {cluster, format: 'json'})
        if ((listed.structured.poolers as unknown[]).length > 0) return fail('the dry run created a pooler', listed.text)
        return pass(firstLine(call.text))
      }),
  },
]

/** The lifecycle suite with the diagnosis, pooler, logical replication and upgrade plugins, which must run before the cluster is deleted. */
export function withDiagnosis(suite: TestPlugin[]): TestPlugin[] {
  const added = [...diagnosePlugins, ...objectPlugins]
  const addedNames = added.map((p) => p.name)
  const ordered = suite.map((plugin) => {
    if (/^delete_(cluster|database|role)$/.test(plugin.name)) return {...plugin, runAfter: [...(plugin.runAfter ?? []), ...addedNames]}
    if (plugin.name === 'cleanup') return {...plugin, test: (session: TestSession) => cleanupFirst(session, plugin)}
    return plugin
  })
  return [...ordered, ...added]
}

/** The suite's cleanup, preceded by deleting the pooler and publication a failure left behind. */
async function cleanupFirst(session: TestSession, cleanup: TestPlugin): Promise<PluginOutcome> {
  const objects = await cleanupObjects(session)
  const outcome = await cleanup.test(session)
  if (objects.problems.length > 0) return fail(`could not delete ${objects.problems.length} object(s) this run created; delete them by hand`, [...objects.problems, outcome.message].join('\n'))
  if (objects.done.length === 0) return outcome
  return {...outcome, message: `${outcome.message}; also deleted: ${objects.done.join(', ')}`}
}
