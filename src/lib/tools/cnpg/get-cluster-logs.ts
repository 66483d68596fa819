import {z} from 'zod'
import {defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {type TruncationNote, truncationSchema} from '../budget.ts'
import {formatParam, kubeName, namespaceParam} from '../validation.ts'
import {loadCluster} from './cluster-ops.ts'
import {type ClusterPod, listClusterPods, mainContainer, podKind, podProblem, restartCount, subresourceForbidden} from './cluster-pods.ts'
import {LOG_LEVELS, type LogEntry, logEntrySchema, matchesFilter, newestFirst, parseLogText, renderLogEntry, renderNewestFirst, sinceCutoff} from './log-lines.ts'
import {callExample, clusterNameParam} from './params.ts'
import {once} from '../lazy.ts'

const podReadSchema = once(() => z.object({
  pod: z.string(),
  kind: z.string().describe('"instance", or the job the pod ran (initdb, join, …)'),
  container: z.string().optional(),
  restarts: z.number(),
  lines_read: z.number(),
  problem: z.string().optional().describe('Why no logs could be read from this pod'),
}))

export const getClusterLogs = defineTool({
  name: 'get_cluster_logs',
  title: 'Read PostgreSQL cluster logs',
  description: [
    'Recent logs of a cluster\'s instance and job pods, newest first, parsed (PostgreSQL records: severity, SQLSTATE, message, hint). Use it to find why an instance fails, WAL archiving fails (logger "wal-archive") or what preceded a crash (previous=true).',
    'Example: {"name": "orders-db", "min_level": "warning", "since": "30m"}.',
    'Errors: 404; 403 without list pods / get pods/log.',
  ].join('\n'),
  get input() {
    return {
      name: clusterNameParam(),
      namespace: namespaceParam(),
      instance: kubeName('instance', {description: 'Only this pod, e.g. "orders-db-2".'}).optional(),
      since: z.string().max(40).optional().describe('A duration ("15m", "2h") or an RFC 3339 time.'),
      min_level: z.enum(LOG_LEVELS).optional().describe('This level or stricter.'),
      logger: z.string().max(63).optional().describe('e.g. "postgres", "instance-manager", "wal-archive".'),
      contains: z.string().min(1).max(200).optional().describe('Text to find (any case).'),
      previous: z.boolean().default(false).describe('The container before the last restart.'),
      tail_lines: z.number().int().min(1).max(5000).default(1000).describe('Lines read per pod before filtering.'),
      limit: z.number().int().min(1).max(1000).default(100).describe('Entries returned.'),
      format: formatParam(),
    }
  },
  get output() {
    return {
      cluster: z.string(),
      entries: z.array(logEntrySchema()).describe('Newest first'),
      matched: z.number().describe('Entries that passed the filters (before "limit")'),
      pods: z.array(podReadSchema()),
      truncated: truncationSchema(),
    }
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (args, context) => {
    const sinceMs = sinceCutoff(args.since)
    const target = await loadCluster(context, args.name, args.namespace)
    const {kube, namespace} = target
    let pods = await listClusterPods(kube, namespace, args.name, context.signal)
    if (args.instance) {
      const known = pods.map((p) => p.metadata.name)
      pods = pods.filter((p) => p.metadata.name === args.instance)
      if (pods.length === 0) throw new ToolError(`Pod "${args.instance}" is not a pod of cluster ${target.ref}. Its pods are: ${known.join(', ') || 'none (list_cluster_events shows why none were created)'}.`)
    }
    const reads = await Promise.all(pods.map((pod) => readPod(pod)))
    const all = reads.flatMap((r) => r.entries)
    const filter = {minLevel: args.min_level, logger: args.logger, contains: args.contains, sinceMs}
    const matching = newestFirst(all.filter((entry) => matchesFilter(entry, filter)))
    const structured = {
      cluster: target.ref,
      entries: matching.slice(0, args.limit),
      matched: matching.length,
      pods: reads.map((r) => r.summary),
    }
    return {
      structured,
      listField: 'entries',
      moreHint: 'Narrow the query: instance, since, min_level, logger or contains, or a smaller limit.',
      render: (s: typeof structured & {truncated?: TruncationNote}) => renderLogs(s, args.previous),
    }

    async function readPod(pod: ClusterPod): Promise<{entries: LogEntry[]; summary: z.infer<ReturnType<typeof podReadSchema>>}> {
      const container = mainContainer(pod)
      const summary: z.infer<ReturnType<typeof podReadSchema>> = {pod: pod.metadata.name, kind: podKind(pod), container, restarts: restartCount(pod, container), lines_read: 0}
      const started = pod.status?.containerStatuses?.find((s) => s.name === container)
      if (!started || (started.state?.waiting && summary.restarts === 0)) {
        const waiting = started?.state?.waiting
        return {entries: [], summary: {...summary, problem: `the container has not started yet (pod ${pod.status?.phase ?? 'Pending'}${waiting?.reason ? `, ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` : ''}); list_cluster_events shows why`}}
      }
      if (args.previous && summary.restarts === 0) return {entries: [], summary: {...summary, problem: 'never restarted: there is no previous container'}}
      try {
        const text = await kube.requestText({
          path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod.metadata.name)}/log`,
          query: {
            container,
            timestamps: true,
            tailLines: args.tail_lines,
            previous: args.previous || undefined,
            // Whole seconds, rounded up so the server never drops a line the filter would keep.
            sinceSeconds: sinceMs === undefined ? undefined : Math.max(1, Math.ceil((Date.now() - sinceMs) / 1000)),
            limitBytes: 8 * 1024 * 1024,
          },
          signal: context.signal,
        })
        const entries = parseLogText(text, pod.metadata.name)
        return {entries, summary: {...summary, lines_read: text === '' ? 0 : text.split('\n').filter(Boolean).length}}
      } catch (error) {
        const forbidden = subresourceForbidden(error, 'log', namespace, 'to read instance logs')
        if (forbidden) throw forbidden
        return {entries: [], summary: {...summary, problem: podProblem(error)}}
      }
    }
  },
})

function renderLogs(s: {cluster: string; entries: LogEntry[]; matched: number; pods: Array<z.infer<ReturnType<typeof podReadSchema>>>; truncated?: TruncationNote}, previous: boolean): string {
  const lines = [`**Logs of cluster ${s.cluster}${previous ? ' (previous containers)' : ''}**`]
  const podLines = s.pods.map((p) => `${p.pod} (${p.kind}${p.restarts ? `, ${p.restarts} restart(s)` : ''}): ${p.problem ? `no logs: ${p.problem}` : `${p.lines_read} line(s) read`}`)
  lines.push(s.pods.length === 0 ? 'No pods: the cluster has none running or pending (list_cluster_events shows why).' : `Pods: ${podLines.join('; ')}`)
  lines.push(...renderNewestFirst({matched: s.matched, shown: s.entries.map(renderLogEntry), truncated: s.truncated}, ['matching entry', 'matching entries'], 'No log entry matches the filters.'))
  const restarted = s.pods.find((p) => p.restarts > 0)
  if (!previous && restarted) lines.push(`${restarted.pod} restarted ${restarted.restarts} time(s): the logs before the crash are in ${callExample('get_cluster_logs', {name: s.cluster.split('/')[1], namespace: s.cluster.split('/')[0], instance: restarted.pod, previous: true})}.`)
  return lines.join('\n')
}
