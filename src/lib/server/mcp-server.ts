import {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import {AjvJsonSchemaValidator} from '@modelcontextprotocol/sdk/validation/ajv'
import type {jsonSchemaValidator} from '@modelcontextprotocol/sdk/validation'
import pjson from '../../../package.json' with {type: 'json'}
import {toolsets} from '../tools/index.ts'
import {mountToolsets, type ToolEnvironment} from '../tools/registry.ts'
import {mountPrompts} from './prompts/mount.ts'
import {promptRegistry} from './prompts/registry.ts'
import {mountResources} from './resources/index.ts'
import {clusterCompleters} from './resources/completion.ts'
import {shareToolList} from './tool-list.ts'

const INSTRUCTIONS = [
  'kmcp manages PostgreSQL clusters run by the CloudNativePG (CNPG) operator on Kubernetes.',
  'Start with list_postgres_clusters to find clusters, then get_cluster_status for details.',
  'Change tools accept dry_run=true to preview a change validated by the API server without storing it.',
  'Destructive tools ask the human for confirmation (or need an explicit confirm flag): never set a confirm flag unless the user asked for that exact change. A refused call is an error starting with REFUSED that says what was not done.',
  'PostgreSQL roles and databases are managed through the *_postgres_role(s) and *_postgres_database(s) tools; passwords stay in Secrets (get_connection_info shows how to read them).',
  'Prompts (prompts/list) hold step-by-step plans for diagnosis, storage shrink, restore and onboarding; resources cnpg://{namespace}/clusters/{name} give live cluster status.',
].join(' ')

/**
 * One MCP server instance with every toolset mounted. Cheap to create: the Kubernetes client
 * behind `env.kube` is shared and made on first use, and tools/list is answered from the build-time
 * snapshot when there is one (`snapshot: false` computes it live).
 */
export function createMcpServer(env: ToolEnvironment, options: {snapshot?: boolean} = {}): McpServer {
  const server = new McpServer(
    {name: 'kmcp', title: 'kmcp: CloudNativePG for AI agents', version: pjson.version},
    {capabilities: {tools: {listChanged: false}, logging: {}}, instructions: INSTRUCTIONS, jsonSchemaValidator: validatorOnFirstUse()},
  )
  mountToolsets(server, toolsets, env)
  mountPrompts(server, promptRegistry(), clusterCompleters(env))
  mountResources(server, env, toolsets)
  shareToolList(server, options)
  return server
}

/**
 * The SDK builds an Ajv instance for every server (several ms of CPU at start-up and per HTTP
 * session) that only checks elicitation answers (confirmations); it is made when first needed.
 */
function validatorOnFirstUse(): jsonSchemaValidator {
  let ajv: AjvJsonSchemaValidator | undefined
  return {getValidator: (schema) => (ajv ??= new AjvJsonSchemaValidator()).getValidator(schema)}
}
