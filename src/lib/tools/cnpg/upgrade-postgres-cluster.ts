import {z} from 'zod'
import {type ToolReply, defineTool} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {namespaceParam} from '../validation.ts'
import {clusterWait, loadCluster, mergePatchCluster} from './cluster-ops.ts'
import {defaultWaitTimeout} from '../wait.ts'
import {clusterNameParam, officialImage, postgresVersionParam} from './params.ts'
import {catalogImage, currentVersion, majorOfImage, upgradeFinished} from './upgrade.ts'

export const upgradePostgresCluster = defineTool({
  name: 'upgrade_postgres_cluster',
  title: 'Upgrade PostgreSQL of a cluster',
  description: [
    'Change the PostgreSQL version: a minor is a rolling update; a new major is CNPG\'s offline in-place upgrade (all instances stop, pg_upgrade runs). No downgrades. Give one of image, postgres_version or catalog_major. Back up before a major; then get_cluster_upgrade_status.',
    'Example: {"name": "orders-db", "postgres_version": "17", "dry_run": true}.',
    'Errors: 404 (cluster or image catalog); 403; 422 from the operator\'s webhook.',
  ].join('\n'),
  get input() {
    return {
      name: clusterNameParam(),
      image: z.string().min(1).max(512).regex(/^[^\s]+$/, 'image must not contain spaces').optional().describe('Any image.'),
      postgres_version: postgresVersionParam('Official image version, e.g. "17".').optional(),
      catalog_major: z.number().int().min(13).max(99).optional().describe('Major from the ImageCatalog.'),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false},
  waits: true,
  confirm: {flag: 'confirm', when: 'to upgrade (instances restart; a major upgrade stops the cluster while pg_upgrade runs)', message: (args) => `Change the PostgreSQL version of cluster ${String(args.name)}: its instances restart.`},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const given = [args.image, args.postgres_version, args.catalog_major].filter((v) => v !== undefined).length
    if (given !== 1) throw new ToolError('Give exactly one of image, postgres_version or catalog_major.')
    const target = await loadCluster(context, args.name, args.namespace)
    const {cluster, ref, namespace} = target
    const current = currentVersion(cluster)
    let targetImage: string
    let patch: Record<string, unknown>
    if (args.catalog_major !== undefined) {
      if (!current.catalog) throw new ToolError(`Cluster ${ref} does not use an image catalog (spec.imageCatalogRef); give image or postgres_version instead.`)
      targetImage = await catalogImage(target.kube, namespace, current.catalog, args.catalog_major, context.signal)
      patch = {spec: {imageCatalogRef: {...current.catalog, major: args.catalog_major}}}
    } else {
      targetImage = args.image ?? officialImage(args.postgres_version!)
      // imageName and imageCatalogRef exclude each other: switching to an image drops the catalog reference.
      patch = {spec: {imageName: targetImage, ...(current.catalog ? {imageCatalogRef: null} : {})}}
    }
    const targetMajor = args.catalog_major ?? majorOfImage(targetImage)
    if (current.image === targetImage && (args.catalog_major === undefined || args.catalog_major === current.catalog?.major)) {
      return {structured: {status: 'unchanged', cluster: ref, image: targetImage}, target: ref, render: () => `Cluster ${ref} already runs ${targetImage}. No change made.`}
    }
    if (current.major !== undefined && targetMajor !== undefined && targetMajor < current.major) {
      throw new ToolError(`PostgreSQL cannot be downgraded: cluster ${ref} runs PostgreSQL ${current.major} (${current.image}) and ${targetImage} is PostgreSQL ${targetMajor}. To go back, restore a backup into a new cluster (restore_postgres_cluster).`)
    }
    const major = targetMajor === undefined || current.major === undefined || targetMajor > current.major
    const versions = `from PostgreSQL ${current.major ?? '?'} (${current.image ?? 'image not reported yet'}) to PostgreSQL ${targetMajor ?? '? (the image tag does not say)'} (${targetImage})`
    const summary = major
      ? `MAJOR upgrade of cluster ${ref} ${versions}: the operator stops ALL instances, runs pg_upgrade in a job on the primary's volume, then recreates the replicas. The database is unavailable meanwhile and the upgrade cannot be undone except by restoring a backup: make sure a recent backup exists.`
      : `Minor update of cluster ${ref} ${versions}: a rolling update, replicas first, then a switchover to an updated replica (a short interruption for connections to the primary).`
    const structuredBase = {cluster: ref, kind: major ? 'major' : 'minor', current_image: current.image, current_major: current.major, target_image: targetImage, target_major: targetMajor}
    const action = `${major ? 'upgrading' : 'updating'} cluster ${ref} to ${targetImage}`
    context.explain(summary)
    await mergePatchCluster(target, args.name, patch, {action, signal: context.signal})
    // A major upgrade stops every instance and runs pg_upgrade: more time than a rolling restart.
    const instances = cluster.spec.instances ?? 1
    return {
      structured: {status: 'upgrading', ...structuredBase},
      target: ref,
      waitFor: clusterWait(target, args.name, defaultWaitTimeout(major ? instances + 3 : instances), upgradeFinished(targetImage)),
      render: () => `Successfully started the ${major ? 'major upgrade' : 'minor update'} of cluster ${ref} ${versions}. Follow it with get_cluster_upgrade_status({"name": "${args.name}", "namespace": "${namespace}"}), or pass wait=true.`,
    }
  },
})
