import {z} from 'zod'
import {type ToolReply, defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {FIELD_MANAGER, renderDryRun, serverDryRun} from '../dry-run.ts'
import {defaultWaitTimeout, describeWait, waitParam, waitTimeoutParam} from '../wait.ts'
import {dnsSubdomainParam, dryRunParam, labelMapParam, namespaceParam, resourceQuantityParam, storageSizeParam} from '../validation.ts'
import {MANAGED_BY_KMCP, MANAGED_BY_LABEL} from '../postgres/secrets.ts'
import {CNPG_API_VERSION, type CnpgCluster, cnpgPath} from './api.ts'
import {waitForCluster} from './cluster-ops.ts'
import {callExample, clusterNameParam, instancesParam, officialImage, postgresIdentifier, postgresVersionParam, ref} from './params.ts'
import {requireAdminFor, requireAllowedImage} from '../privileged-fields.ts'

const IMAGE_REFERENCE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/

const tolerationSchema = z
  .strictObject({
    key: z.string().max(316).optional().describe('Taint key to match; omit with operator "Exists" to tolerate every taint'),
    operator: z.enum(['Exists', 'Equal']).optional().describe('"Equal" (default) or "Exists"'),
    value: z.string().max(63).optional().describe('Taint value to match (operator "Equal")'),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional().describe('Taint effect to match; omit for all effects'),
    tolerationSeconds: z.number().int().min(0).optional().describe('For NoExecute: how long the pod stays bound after the taint appears'),
  })
  .refine((t) => !(t.operator === 'Exists' && t.value), 'a toleration with operator "Exists" must not have a value')
  .refine((t) => t.tolerationSeconds === undefined || t.effect === 'NoExecute', 'tolerationSeconds only applies to effect "NoExecute"')

const resourceAmounts = z
  .strictObject({
    cpu: resourceQuantityParam('cpu', 'CPU, e.g. "500m" or "2"').optional(),
    memory: resourceQuantityParam('memory', 'Memory, e.g. "1Gi"').optional(),
  })
  .describe('cpu and/or memory')

const POSTGRES_PARAMETER_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$/

export const createPostgresCluster = defineTool({
  name: 'create_postgres_cluster',
  title: 'Create a PostgreSQL cluster',
  description: [
    'Create a CloudNativePG PostgreSQL cluster: one primary plus (instances - 1) streaming replicas, each with its own volume, and an application database with its owner (bootstrap.initdb).',
    'Use dry_run=true first to see the exact Cluster the API server would store (defaults included); then create it. With wait=true the call watches the cluster and reports progress until every instance is ready, or reports TIMED OUT (the cluster stays and keeps starting).',
    'Defaults: 3 instances, 10Gi storage, PostgreSQL 17, database "app" owned by "app", max_connections=100 and shared_buffers=256MB. Backups are not configured by this tool.',
    'Example: {"name": "orders-db", "namespace": "payments", "instances": 3, "storage_size": "20Gi", "database": "orders", "owner": "orders", "dry_run": true}.',
    'Errors: 409 when a cluster with that name exists (choose another name or inspect it with get_cluster_status); 403 without create permission on clusters (cnpg-cloudnative-pg-edit); 422 when the API server rejects the spec (the message names the field).',
  ].join('\n'),
  input: {
    name: clusterNameParam,
    instances: instancesParam('Number of PostgreSQL instances (1-10): one primary plus replicas. 3 gives high availability.').default(3),
    storage_size: storageSizeParam('storage_size', 'Size of each instance\'s data volume, a Kubernetes quantity such as "10Gi" (default) or "500Gi". Grow it later with resize_postgres_cluster.').default('10Gi'),
    postgres_version: postgresVersionParam('PostgreSQL version for the official image ghcr.io/cloudnative-pg/postgresql:<version>, e.g. "17" or "16.4". Ignored when container_image is given.').default('17'),
    container_image: z
      .string()
      .max(512, 'container_image must be at most 512 characters')
      .regex(IMAGE_REFERENCE, 'container_image must be an image reference such as "registry.example.com/postgresql:16.4" (lower-case repository, optional :tag and @sha256:digest)')
      .optional()
      .describe('Full PostgreSQL operand image, overriding postgres_version, e.g. "registry.example.com/postgresql:16.4".'),
    storage_class: dnsSubdomainParam('storage_class', 'StorageClass for the data volumes; omit to use the cluster\'s default StorageClass.').optional(),
    image_pull_policy: z.enum(['Always', 'Never', 'IfNotPresent']).optional().describe('Image pull policy for the PostgreSQL pods; omit for the Kubernetes default.'),
    node_selector: labelMapParam('node_selector', 'Node labels the PostgreSQL pods must run on, e.g. {"kubernetes.io/hostname": "worker-1"} (spec.affinity.nodeSelector).').optional(),
    tolerations: z.array(tolerationSchema).max(20, 'at most 20 tolerations').optional().describe('Kubernetes tolerations for the PostgreSQL pods (spec.affinity.tolerations), e.g. [{"key": "dedicated", "operator": "Equal", "value": "postgres", "effect": "NoSchedule"}].'),
    database: postgresIdentifier('database', 'Name of the application database created at bootstrap (default "app").').default('app'),
    owner: postgresIdentifier('owner', 'Role owning the application database (default: the same as database); its password is generated in the Secret "<name>-app".').optional(),
    resources: z
      .strictObject({requests: resourceAmounts.optional(), limits: resourceAmounts.optional()})
      .optional()
      .describe('CPU/memory requests and limits per instance, e.g. {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}. Omit for none.'),
    enable_pod_monitor: z.boolean().optional().describe('true: create a Prometheus Operator PodMonitor for the cluster (monitoring.enablePodMonitor). Needs the Prometheus Operator CRDs.'),
    postgresql_parameters: z
      .record(z.string().regex(POSTGRES_PARAMETER_NAME, 'PostgreSQL parameter names are lower-case letters, digits and "_" (e.g. "work_mem")').max(63), z.string().max(1024))
      .refine((map) => Object.keys(map).length <= 50, 'at most 50 PostgreSQL parameters')
      .default({max_connections: '100', shared_buffers: '256MB'})
      .describe('postgresql.conf settings (spec.postgresql.parameters). Default {"max_connections": "100", "shared_buffers": "256MB"}.'),
    wait: waitParam,
    timeout: waitTimeoutParam,
    namespace: namespaceParam,
    dry_run: dryRunParam,
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    requireAdminFor(context.identity, [{name: 'container_image', given: args.container_image !== undefined, why: 'an image runs its own code in the cluster'}])
    requireAllowedImage(args.container_image)
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const target = ref(namespace, args.name)
    const manifest = clusterManifest(args, namespace)
    const request = {method: 'POST' as const, path: cnpgPath('clusters', namespace), body: manifest, signal: context.signal}
    const action = `creating cluster ${target}`

    if (args.dry_run) {
      const preview = await serverDryRun<CnpgCluster>(kube, request, action)
      const structured = {status: 'dry_run' as const, cluster: target, manifest: preview as unknown as Record<string, unknown>}
      return {
        structured,
        target,
        dryRun: true,
        render: () => renderDryRun({heading: `create cluster ${target}`, object: structured.manifest, nextStep: `To create it, call again without dry_run: ${callExample('create_postgres_cluster', {...args, namespace, dry_run: undefined})}`}),
      }
    }

    await kubeStep(action, () => kube.request<CnpgCluster>({...request, query: {fieldManager: FIELD_MANAGER}}))
    const structured: {status: 'created'; cluster: string; instances: number; image: string; storage_size: string; database: string; owner: string; wait?: {outcome: string; message: string; elapsed_seconds: number}} = {
      status: 'created',
      cluster: target,
      instances: args.instances,
      image: manifest.spec.imageName as string,
      storage_size: args.storage_size,
      database: args.database,
      owner: args.owner ?? args.database,
    }
    let waitText: string | undefined
    if (args.wait) {
      const timeout = args.timeout ?? defaultWaitTimeout(args.instances)
      const result = await waitForCluster(kube, context, namespace, args.name, timeout)
      waitText = describeWait(result, `Cluster ${target}`, timeout)
      structured.wait = {outcome: result.outcome, message: result.lastMessage, elapsed_seconds: result.elapsedSeconds}
    }
    return {
      structured,
      target,
      render: () => {
        const s = structured
        return [
          `Successfully created PostgreSQL cluster ${s.cluster}.`,
          `- Instances: ${s.instances}`,
          `- Image: ${s.image}`,
          `- Storage: ${s.storage_size}${args.storage_class ? ` (class ${args.storage_class})` : ''}`,
          `- Database: ${s.database} (owner ${s.owner}); the owner's password is in Secret ${args.name}-app (kubectl get secret ${args.name}-app -n ${namespace} -o jsonpath='{.data.password}' | base64 -d)`,
          `- Connect via service ${args.name}-rw.${namespace}.svc:5432`,
          ...(waitText ? ['', waitText] : ['', `The operator is now creating the instances. Follow progress with get_cluster_status({"name": "${args.name}", "namespace": "${namespace}"}).`]),
        ].join('\n')
      },
    }
  },
})

type CreateArgs = Parameters<typeof createPostgresCluster.handler>[0]

/** The Cluster kmcp creates. Every default is written out so the dry run shows it. */
function clusterManifest(args: CreateArgs, namespace: string): CnpgCluster & {spec: Record<string, unknown>} {
  const spec: Record<string, unknown> = {
    instances: args.instances,
    imageName: args.container_image ?? officialImage(args.postgres_version),
    storage: {size: args.storage_size, ...(args.storage_class ? {storageClass: args.storage_class} : {})},
    bootstrap: {initdb: {database: args.database, owner: args.owner ?? args.database}},
    postgresql: {parameters: args.postgresql_parameters},
  }
  if (args.image_pull_policy) spec.imagePullPolicy = args.image_pull_policy
  if (args.node_selector || args.tolerations) {
    spec.affinity = {...(args.node_selector ? {nodeSelector: args.node_selector} : {}), ...(args.tolerations ? {tolerations: args.tolerations} : {})}
  }
  if (args.resources) spec.resources = args.resources
  if (args.enable_pod_monitor !== undefined) spec.monitoring = {enablePodMonitor: args.enable_pod_monitor}
  return {
    apiVersion: CNPG_API_VERSION,
    kind: 'Cluster',
    metadata: {name: args.name, namespace, labels: {[MANAGED_BY_LABEL]: MANAGED_BY_KMCP}},
    spec,
  }
}
