import {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import pjson from '../../../package.json' with {type: 'json'}
import {toolsets} from '../tools/index.ts'
import {mountToolsets, type ToolEnvironment} from '../tools/registry.ts'
import {validatorOnFirstUse} from './json-schema-validator.ts'
import {mountPrompts} from './prompts/mount.ts'
import {promptRegistry} from './prompts/registry.ts'
import {mountResources} from './resources/index.ts'
import {clusterCompleters} from './resources/completion.ts'
import {shareToolList} from './tool-list.ts'

/**
 * What every tool shares, said once here instead of in each tool's schema (tools/list stays small:
 * see tool-list-compact.ts and docs/benchmarks.md).
 */
const INSTRUCTIONS = [
  'kmcp manages PostgreSQL clusters run by the CloudNativePG (CNPG) operator on Kubernetes.',
  'Start with list_postgres_clusters to find clusters, then get_cluster_status for details.',
  'Shared parameters, which the tools do not describe again: name is the name of the object the tool acts on (a cluster tool\'s: the CNPG Cluster\'s), cluster or cluster_name the Cluster\'s; namespace, when omitted, is the server\'s default (its service account\'s namespace, else the kubeconfig context\'s, else "default"); all_namespaces=true lists every namespace kmcp may read.',
  'format "text" (default) is a readable summary, "json" the same data as JSON. detail_level "detailed" adds conditions, storage and configuration to the concise default.',
  'Lists come in pages of limit items (1-500): pass the result\'s "continue" token back as continue for the next page (remaining_item_count: how many are left; 410: the token expired, start again).',
  'dry_run=true sends a change to the API server with dryRun=All, so the CRD schema and webhooks validate it, and shows the object it would store; nothing is stored. Preview creations, upgrades and deletions this way.',
  'Destructive tools ask the human for confirmation; a client that cannot ask must pass the tool\'s confirm flag (confirm, confirm_deletion, …): never set a confirm flag unless the user asked for that exact change. A refused call is an error starting with REFUSED that says what was not done and what would be lost.',
  'wait=true makes an operator action (create, scale, restore, backup, …) watch until the operator is done, with progress notifications, or until timeout seconds (5-1800; the default depends on the action, e.g. 60 per instance up to 600); cancelling stops the wait, not the change.',
  'Results: every change returns (outputSchema lists only the fields a tool adds) status ("created", "deleted", "unchanged", "dry_run", …), target ("namespace/name"), summary, confirmed_by ("human" or "flag"), dry_run {requests [{method, path}], object, apply_call} and wait {outcome: done|timeout|cancelled|deleted|failed, message, elapsed_seconds}. A result cut to the response budget has (in every tool) truncated {omitted_items, shown_items, omitted_characters, how_to_get_the_rest}.',
  'Errors: 403 means kmcp\'s Kubernetes identity lacks a permission (reading needs the cnpg-cloudnative-pg-view role, changes -edit; the message names verb and resource); 404 that the object does not exist (the list tools show what does); 422 that the API server rejected the spec (the message names the field).',
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
    {capabilities: {tools: {listChanged: false}, logging: {}}, instructions: INSTRUCTIONS, jsonSchemaValidator: validatorOnFirstUse},
  )
  mountToolsets(server, toolsets, env)
  mountPrompts(server, promptRegistry(), clusterCompleters(env))
  mountResources(server, env, toolsets)
  shareToolList(server, options)
  return server
}
