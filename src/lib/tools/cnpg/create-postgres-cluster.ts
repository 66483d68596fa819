import {z} from 'zod'
import {type ToolReply, defineTool} from '../registry.ts'
import {kubeStep} from '../errors.ts'
import {defaultWaitTimeout} from '../wait.ts'
import {dnsSubdomainParam, labelMapParam, namespaceParam, resourceQuantityParam, storageSizeParam} from '../validation.ts'
import {MANAGED_BY_KMCP, MANAGED_BY_LABEL} from '../postgres/secrets.ts'
import {CNPG_API_VERSION, type CnpgCluster, cnpgPath} from './api.ts'
import {clusterWait} from './cluster-ops.ts'
import {clusterNameParam, instancesParam, officialImage, postgresIdentifier, postgresVersionParam, ref} from './params.ts'
import {requireAdminFor, requireAllowedImage} from '../privileged-fields.ts'
import {once} from '../lazy.ts'

const IMAGE_REFERENCE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/

const tolerationSchema = once(() => z
  .strictObject({
    key: z.string().max(316).optional().describe('Taint key to match; omit with operator "Exists" to tolerate every taint'),
    operator: z.enum(['Exists', 'Equal']).optional().describe('"Equal" (default) or "Exists"'),
    value: z.string().max(63).optional().describe('Taint value to match (operator "Equal")'),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional().describe('Taint effect to match; omit for all effects'),
    tolerationSeconds: z.number().int().min(0).optional().describe('For NoExecute: how long the pod stays bound after the taint appears'),
  })
  .refine((t) => !(t.operator === 'Exists' && t.value), 'a toleration with operator "Exists" must not have a value')
  .refine((t) => t.tolerationSeconds === undefined || t.effect === 'NoExecute', 'tolerationSeconds only applies to effect "NoExecute"'))

const resourceAmounts = once(() => z
  .strictObject({
    cpu: resourceQuantityParam('cpu', 'CPU, e.g. "500m" or "2"').optional(),
    memory: resourceQuantityParam('memory', 'Memory, e.g. "1Gi"').optional(),
  })
  .describe('cpu and/or memory'))

const POSTGRES_PARAMETER_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$/

export const createPostgresCluster = defineTool({
  name: 'create_postgres_cluster',
  title: 'Create a PostgreSQL cluster',
  description: [
    'Create a cluster: one primary and instances-1 streaming replicas, each with its own volume, and an application database with its owner. No backups are configured.',
    'Example: {"name": "orders-db", "instances": 3, "storage_size": "20Gi", "database": "orders", "owner": "orders", "dry_run": true}.',
    'Errors: 409 when the name is taken; 403; 422 when the spec is rejected.',
  ].join('\n'),
  get input() {
    return {
      name: clusterNameParam(),
      instances: instancesParam('Primary plus replicas.').default(3),
      storage_size: storageSizeParam('storage_size', 'Data volume size per instance.').default('10Gi'),
      postgres_version: postgresVersionParam('Version of the official image, e.g. "16.4".').default('17'),
      container_image: z
        .string()
        .max(512, 'container_image must be at most 512 characters')
        .regex(IMAGE_REFERENCE, 'container_image must be an image reference such as "registry.example.com/postgresql:16.4" (lower-case repository, optional :tag and @sha256:digest)')
        .optional()
        .describe('An image instead of postgres_version.'),
      storage_class: dnsSubdomainParam('storage_class', 'Default: the cluster default.').optional(),
      image_pull_policy: z.enum(['Always', 'Never', 'IfNotPresent']).optional().describe('Pull policy of the pods.'),
      node_selector: labelMapParam('node_selector', 'Node labels the pods need.').optional(),
      tolerations: z.array(tolerationSchema()).max(20, 'at most 20 tolerations').optional().describe('Pod tolerations, as in Kubernetes.'),
      database: postgresIdentifier('database', 'Application database.').default('app'),
      owner: postgresIdentifier('owner', 'Default: the database; password in Secret "<name>-app".').optional(),
      resources: z
        .strictObject({requests: resourceAmounts().optional(), limits: resourceAmounts().optional()})
        .optional()
        .describe('Per instance, e.g. {"requests": {"cpu": "1", "memory": "2Gi"}}.'),
      enable_pod_monitor: z.boolean().optional().describe('Create a Prometheus PodMonitor.'),
      postgresql_parameters: z
        .record(z.string().regex(POSTGRES_PARAMETER_NAME, 'PostgreSQL parameter names are lower-case letters, digits and "_" (e.g. "work_mem")').max(63), z.string().max(1024))
        .refine((map) => Object.keys(map).length <= 50, 'at most 50 PostgreSQL parameters')
        .default({max_connections: '100', shared_buffers: '256MB'})
        .describe('postgresql.conf settings.'),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false},
  waits: true,
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    requireAdminFor(context.identity, [{name: 'container_image', given: args.container_image !== undefined, why: 'an image runs its own code in the cluster'}])
    requireAllowedImage(args.container_image)
    const kube = await context.kube()
    const namespace = await context.namespace(args.namespace)
    const target = ref(namespace, args.name)
    const manifest = clusterManifest(args, namespace)
    context.explain(`Create cluster ${target}: ${args.instances} instance(s) of ${manifest.spec.imageName as string} with ${args.storage_size} of storage each.`)
    await kubeStep(`creating cluster ${target}`, () => kube.request<CnpgCluster>({method: 'POST', path: cnpgPath('clusters', namespace), body: manifest, signal: context.signal}))
    const structured = {
      status: 'created',
      cluster: target,
      instances: args.instances,
      image: manifest.spec.imageName as string,
      storage_size: args.storage_size,
      database: args.database,
      owner: args.owner ?? args.database,
    }
    return {
      structured,
      target,
      waitFor: clusterWait({namespace}, args.name, defaultWaitTimeout(args.instances)),
      render: () => {
        const s = structured
        return [
          `Successfully created PostgreSQL cluster ${s.cluster}.`,
          `- Instances: ${s.instances}`,
          `- Image: ${s.image}`,
          `- Storage: ${s.storage_size}${args.storage_class ? ` (class ${args.storage_class})` : ''}`,
          `- Database: ${s.database} (owner ${s.owner}); the owner's password is in Secret ${args.name}-app (kubectl get secret ${args.name}-app -n ${namespace} -o jsonpath='{.data.password}' | base64 -d)`,
          `- Connect via service ${args.name}-rw.${namespace}.svc:5432`,
          '',
          `The operator creates the instances. Follow progress with get_cluster_status({"name": "${args.name}", "namespace": "${namespace}"}), or pass wait=true.`,
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
