import {z} from 'zod'
import {type ToolReply, defineTool} from '../registry.ts'
import {ToolError, kubeStep} from '../errors.ts'
import {kubeName, namespaceParam} from '../validation.ts'
import {CNPG_API_VERSION, cnpgPath} from './api.ts'
import {loadCluster} from './cluster-ops.ts'
import {type CnpgPooler, pgbouncerParametersParam, poolModeParam} from './poolers.ts'
import {SHARED_PARAMETER_DESCRIPTIONS} from '../common-parameters.ts'

export const createPooler = defineTool({
  name: 'create_pooler',
  title: 'Create a PgBouncer pooler',
  description: [
    'Put PgBouncer in front of a cluster (a Pooler, reached through a Service of its name). Use it when many short connections overload PostgreSQL.',
    'Example: {"cluster": "orders-db", "type": "rw", "instances": 2, "pool_mode": "transaction"}.',
    'Errors: 404; 409 when the name is taken; 403; 422.',
  ].join('\n'),
  get input() {
    return {
      cluster: kubeName('cluster', {maxLength: 50, description: SHARED_PARAMETER_DESCRIPTIONS.cluster}),
      name: kubeName('name', {description: 'Default: "<cluster>-pooler-<type>".'}).optional(),
      type: z.enum(['rw', 'ro']).default('rw').describe('rw: primary; ro: replicas.'),
      instances: z.number().int().min(1).max(10).default(1).describe('PgBouncer pods.'),
      pool_mode: poolModeParam().default('session'),
      parameters: pgbouncerParametersParam().optional(),
      paused: z.boolean().default(false).describe('Create it paused.'),
      namespace: namespaceParam(),
    }
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false},
  handler: async (args, context): Promise<ToolReply<Record<string, unknown>>> => {
    const target = await loadCluster(context, args.cluster, args.namespace)
    const {kube, namespace} = target
    const name = args.name ?? `${args.cluster}-pooler-${args.type}`
    // The operator creates the pooler's Service under the pooler's name: the cluster's own Services are taken.
    const clusterServices = ['rw', 'ro', 'r'].map((suffix) => `${args.cluster}-${suffix}`)
    if (clusterServices.includes(name)) throw new ToolError(`Pooler name "${name}" is the name of a Service of cluster ${args.cluster} (${clusterServices.join(', ')}): the operator would never create the pooler's own Service. Choose another name, or omit name for "${args.cluster}-pooler-${args.type}".`)
    const ref = `${namespace}/${name}`
    const pooler: CnpgPooler = {
      apiVersion: CNPG_API_VERSION,
      kind: 'Pooler',
      metadata: {name, namespace},
      spec: {
        cluster: {name: args.cluster},
        type: args.type,
        instances: args.instances,
        pgbouncer: {poolMode: args.pool_mode, ...(args.parameters ? {parameters: args.parameters} : {}), ...(args.paused ? {paused: true} : {})},
      },
    }
    const request = {method: 'POST' as const, path: cnpgPath('poolers', namespace), body: pooler, signal: context.signal}
    const action = `creating pooler ${ref}`
    context.explain(`Create ${args.type} pooler ${ref} for cluster ${target.ref}: ${args.instances} PgBouncer pod(s), pool mode ${args.pool_mode}${args.paused ? ', paused' : ''}.`)
    await kubeStep(action, () => kube.request<CnpgPooler>(request))
    return {
      structured: {status: 'created', pooler: ref, cluster: args.cluster, type: args.type, instances: args.instances, service: name},
      target: ref,
      render: () => `Successfully created ${args.type} pooler ${ref} for cluster ${target.ref} (${args.instances} PgBouncer pod(s), pool mode ${args.pool_mode}${args.paused ? ', paused' : ''}). Applications connect to Service ${name} on port 5432. Follow it with get_pooler({"name": "${name}", "namespace": "${namespace}"}).`,
    }
  },
})
