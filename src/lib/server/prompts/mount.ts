import type {McpServer, RegisteredPrompt} from '@modelcontextprotocol/sdk/server/mcp.js'
import type {GetPromptResult} from '@modelcontextprotocol/sdk/types.js'
import {completable} from '@modelcontextprotocol/sdk/server/completable.js'
import {z} from 'zod'
import type {ClusterCompleters} from '../resources/completion.ts'
import {BUILTIN_PROMPTS, LIST_PROMPTS_ID} from './builtin.ts'
import {type PromptBundle, renderTemplate} from './bundle.ts'
import type {PromptRegistry} from './registry.ts'

/** Argument schemas; namespace and cluster_name complete from the API server when completers are given. */
function argsShape(args: Array<{name: string; description: string; required: boolean}>, completers?: ClusterCompleters): z.ZodRawShape {
  return Object.fromEntries(
    args.map((a) => {
      const base = a.required ? z.string().describe(a.description) : z.string().optional().describe(a.description)
      if (completers && a.name === 'namespace') return [a.name, completable(base, (value) => completers.namespace(value ?? ''))]
      if (completers && a.name === 'cluster_name') return [a.name, completable(base, (value, context) => completers.cluster(value ?? '', context?.arguments?.namespace))]
      return [a.name, base]
    }),
  )
}

function userMessage(text: string, description?: string): GetPromptResult {
  return {description, messages: [{role: 'user', content: {type: 'text', text}}]}
}

function renderListing(registry: PromptRegistry): string {
  const bundle = registry.bundle
  const lines = ['# Available prompts', '', '## Built-in']
  for (const prompt of BUILTIN_PROMPTS) lines.push(`- **${prompt.title}** (\`${prompt.id}\`): ${prompt.description}${prompt.arguments.length ? ` Arguments: ${prompt.arguments.map((a) => `${a.name}${a.required ? '' : ' (optional)'}`).join(', ')}.` : ''}`)
  lines.push('', bundle ? `## From the bundle (version ${bundle.version}, ${bundle.hash.slice(0, 24)})` : '## From the bundle', '')
  if (!bundle || bundle.prompts.length === 0) lines.push('No bundle prompts are loaded.')
  for (const prompt of bundle?.prompts ?? []) {
    lines.push(`- **${prompt.name}** (\`${prompt.id}\`): ${prompt.description}${prompt.arguments.length ? ` Arguments: ${prompt.arguments.map((a) => `${a.name}${a.required ? '' : ' (optional)'}`).join(', ')}.` : ''}`)
  }
  return lines.join('\n')
}

/**
 * Offers the built-in prompts and the bundle's prompts on one MCP server, and keeps them in step
 * with the registry: a reloaded bundle replaces this server's bundle prompts and the client gets
 * one notifications/prompts/list_changed.
 */
export function mountPrompts(server: McpServer, registry: PromptRegistry, completers?: ClusterCompleters): void {
  for (const prompt of BUILTIN_PROMPTS) {
    server.registerPrompt(prompt.id, {title: prompt.title, description: prompt.description, argsSchema: argsShape(prompt.arguments, completers)}, ((args: Record<string, string | undefined>) =>
      userMessage(prompt.render(args), prompt.description)) as never)
  }
  server.registerPrompt(LIST_PROMPTS_ID, {title: 'List the available prompts', description: 'Lists every prompt kmcp offers: the built-in ones and those of the loaded bundle.'}, () => userMessage(renderListing(registry)))

  let mounted: RegisteredPrompt[] = []
  const mountBundle = (bundle: PromptBundle | undefined) => {
    for (const prompt of mounted) prompt.remove()
    mounted = (bundle?.prompts ?? []).map((prompt) =>
      server.registerPrompt(prompt.id, {title: prompt.name, description: prompt.description, argsSchema: argsShape(prompt.arguments)}, ((args: Record<string, string | undefined>) =>
        userMessage(renderTemplate(prompt.template, args), prompt.description)) as never),
    )
  }
  mountBundle(registry.bundle)

  const unsubscribe = registry.onChange(() => {
    // Each remove/register would notify the client on its own; one notification per reload is enough.
    const notify = server.sendPromptListChanged.bind(server)
    server.sendPromptListChanged = () => {}
    try {
      mountBundle(registry.bundle)
    } finally {
      server.sendPromptListChanged = notify
    }
    server.sendPromptListChanged()
  })
  const previousOnClose = server.server.onclose
  server.server.onclose = () => {
    unsubscribe()
    previousOnClose?.()
  }
}
