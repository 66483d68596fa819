import {z} from 'zod'
import type {KubeClient} from '../../k8s/client.ts'
import {ToolError, kubeStep} from '../errors.ts'
import type {CnpgCluster} from './api.ts'
import {CNPG_GROUP, CNPG_VERSION} from './api.ts'
import {listClusterPods} from './cluster-pods.ts'
import type {WaitState} from '../wait.ts'
import {once} from '../lazy.ts'

/**
 * PostgreSQL version changes of a CNPG cluster. A new image of the same major is a rolling
 * update; a new major (CNPG 1.26+) is an offline in-place upgrade: the operator stops every
 * instance, runs pg_upgrade in a "major-upgrade" job on the primary's volume, then recreates the
 * replicas. The version running on the data directory is status.pgDataImageInfo; during a major
 * upgrade status.targetPgDataImageInfo names the target.
 */

/** The PostgreSQL major of an image from its tag ("…/postgresql:16.4-bookworm" → 16), or undefined. */
export function majorOfImage(image: string | undefined): number | undefined {
  const tag = image?.split('@')[0].split('/').pop()?.split(':')[1]
  const match = tag ? /^(\d+)(?:\.\d+)?/.exec(tag) : null
  return match ? Number(match[1]) : undefined
}

export interface VersionState {
  image?: string
  major?: number
  catalog?: {kind: string; name: string; major: number}
}

/** What runs now: the data directory's image info, else status.image, else the spec. */
export function currentVersion(cluster: CnpgCluster): VersionState {
  const info = cluster.status?.pgDataImageInfo as {image?: string; majorVersion?: number} | undefined
  const image = info?.image ?? cluster.status?.image ?? cluster.spec.imageName
  const catalog = cluster.spec.imageCatalogRef
  return {image, major: info?.majorVersion ?? majorOfImage(image) ?? catalog?.major, catalog}
}

interface ImageCatalog {
  spec: {images: Array<{major: number; image: string}>}
}

/** The image a catalog gives for a major, or a ToolError naming the majors it has. */
export async function catalogImage(kube: KubeClient, namespace: string, ref: {kind: string; name: string}, major: number, signal: AbortSignal): Promise<string> {
  const clusterScoped = ref.kind === 'ClusterImageCatalog'
  const path = `/apis/${CNPG_GROUP}/${CNPG_VERSION}/${clusterScoped ? '' : `namespaces/${encodeURIComponent(namespace)}/`}${clusterScoped ? 'clusterimagecatalogs' : 'imagecatalogs'}/${encodeURIComponent(ref.name)}`
  const catalog = await kubeStep(`getting ${ref.kind} ${ref.name}`, () => kube.request<ImageCatalog>({method: 'GET', path, signal}))
  const entry = catalog.spec.images.find((i) => i.major === major)
  if (!entry) throw new ToolError(`${ref.kind} ${ref.name} has no image for PostgreSQL ${major} (it has: ${catalog.spec.images.map((i) => i.major).sort().join(', ') || 'none'}). Add one to the catalog first.`)
  return entry.image
}

export const upgradeStatusSchema = once(() => z.object({
  cluster: z.string(),
  phase: z.string(),
  phase_reason: z.string().optional(),
  running_image: z.string().optional().describe('Image of the data directory (status.pgDataImageInfo)'),
  running_major: z.number().optional(),
  desired_image: z.string().optional().describe('spec.imageName, or the catalog entry'),
  target_image: z.string().optional().describe('status.targetPgDataImageInfo: set while a major upgrade runs'),
  target_major: z.number().optional(),
  in_progress: z.boolean(),
  upgrade_jobs: z.array(z.object({pod: z.string(), phase: z.string().optional()})).describe('Pods of the major-upgrade job'),
  instances_on_image: z.record(z.string(), z.array(z.string())).optional().describe('Instance pods per image they run'),
}))
export type UpgradeStatus = z.infer<ReturnType<typeof upgradeStatusSchema>>

export async function upgradeStatus(kube: KubeClient, cluster: CnpgCluster, signal: AbortSignal): Promise<UpgradeStatus> {
  const namespace = cluster.metadata.namespace ?? ''
  const current = currentVersion(cluster)
  const target = cluster.status?.targetPgDataImageInfo as {image?: string; majorVersion?: number} | undefined
  const phase = cluster.status?.phase || 'Unknown'
  let jobs: UpgradeStatus['upgrade_jobs'] = []
  let onImage: Record<string, string[]> | undefined
  try {
    const pods = await listClusterPods(kube, namespace, cluster.metadata.name, signal)
    jobs = pods.filter((p) => p.metadata.labels?.['cnpg.io/jobRole'] === 'major-upgrade').map((p) => ({pod: p.metadata.name, phase: p.status?.phase}))
    onImage = {}
    for (const pod of pods.filter((p) => p.metadata.labels?.['cnpg.io/podRole'] === 'instance')) {
      const image = (pod.spec?.containers?.find((c) => c.name === 'postgres') as {image?: string} | undefined)?.image ?? 'unknown'
      ;(onImage[image] ??= []).push(pod.metadata.name)
    }
  } catch {
    // Without pods access the Cluster status alone still tells the story.
  }
  return {
    cluster: `${namespace}/${cluster.metadata.name}`,
    phase,
    phase_reason: cluster.status?.phaseReason || undefined,
    running_image: current.image,
    running_major: current.major,
    desired_image: cluster.spec.imageName ?? (current.catalog ? `${current.catalog.kind}/${current.catalog.name} major ${current.catalog.major}` : undefined),
    target_image: target?.image,
    target_major: target?.majorVersion,
    in_progress: Boolean(target?.image) || /upgrad/i.test(phase),
    upgrade_jobs: jobs,
    instances_on_image: onImage,
  }
}

export function renderUpgradeStatus(s: UpgradeStatus): string {
  const lines = [`**Upgrade status of cluster ${s.cluster}**`, `- Phase: ${s.phase}${s.phase_reason ? ` (${s.phase_reason})` : ''}`]
  lines.push(`- Running: PostgreSQL ${s.running_major ?? '?'} (${s.running_image ?? 'image not reported yet'})`)
  if (s.desired_image) lines.push(`- Desired: ${s.desired_image}`)
  if (s.target_image) lines.push(`- Major upgrade in progress to PostgreSQL ${s.target_major ?? '?'} (${s.target_image})`)
  else lines.push(s.in_progress ? '- An update is in progress (rolling restart of the instances)' : '- No upgrade in progress')
  for (const job of s.upgrade_jobs) lines.push(`- Major-upgrade job pod ${job.pod}: ${job.phase ?? 'unknown'} (get_cluster_logs with instance "${job.pod}" shows pg_upgrade's output)`)
  for (const [image, pods] of Object.entries(s.instances_on_image ?? {})) lines.push(`- On ${image}: ${pods.join(', ')}`)
  return lines.join('\n')
}

/** How long the operator takes at most to start rolling out a new image once it has seen it. */
const ROLLOUT_START_MS = 20_000

/**
 * When a version change is finished, for wait=true: the operator runs the target image, no major
 * upgrade is pending, and the cluster is healthy with every instance ready. CNPG records the new
 * image in the status before it restarts the first instance, so "healthy on the new image" counts
 * only once the cluster was seen not healthy (the restarts), or after ROLLOUT_START_MS without that.
 */
export function upgradeFinished(targetImage: string, now: () => number = Date.now): (cluster: CnpgCluster) => WaitState {
  const started = now()
  let sawRollout = false
  return (cluster) => {
    const phase = cluster.status?.phase || 'not reported yet'
    const desired = cluster.spec.instances ?? 1
    const ready = cluster.status?.readyInstances ?? 0
    const healthy = /healthy/i.test(phase) && ready === desired
    const onTarget = cluster.status?.image === targetImage && !cluster.status?.targetPgDataImageInfo
    if (!healthy) sawRollout = true
    const done = onTarget && healthy && (sawRollout || now() - started > ROLLOUT_START_MS)
    return {done, message: `${ready}/${desired} ready, phase: ${phase}, image: ${cluster.status?.image ?? 'not reported'}${cluster.status?.targetPgDataImageInfo ? ' (major upgrade pending)' : ''}`}
  }
}
