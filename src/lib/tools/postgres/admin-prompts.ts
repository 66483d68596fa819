import {z} from 'zod'
import {defineTool, type ToolContext, type Toolset} from '../registry.ts'
import {ToolError} from '../errors.ts'
import {promptRegistry, type PromptManifest} from '../../server/prompts/registry.ts'
import {once} from '../lazy.ts'

/** Admin tools are only mounted for admins; this check also covers a caller change within a session. */
function requireAdmin(context: ToolContext): void {
  if (!context.identity.isAdmin) throw new ToolError('Only kmcp administrators may use this tool (an admin user or group in the HTTP configuration, or the local user in stdio mode).')
}

const manifestShape = once(() => ({
  loaded: z.boolean(),
  source: z.string().describe('Bundle file path'),
  version: z.string().optional(),
  bundle_hash: z.string().optional().describe('"sha256:<hex>" of the bundle file (its ETag)'),
  updated_at: z.string().optional(),
  prompt_count: z.number(),
  prompt_ids: z.array(z.string()),
  builtin_prompt_ids: z.array(z.string()),
  last_error: z.string().optional().describe('Why the last load failed; the previous bundle stays in use'),
  error: z.string().optional(),
}))

function renderManifest(manifest: PromptManifest): string {
  const lines = manifest.loaded
    ? [`Prompt bundle ${manifest.source}: version ${manifest.version}, ${manifest.prompt_count} prompt(s) (${manifest.prompt_ids.join(', ') || 'none'}), hash ${manifest.bundle_hash}, updated ${manifest.updated_at}.`]
    : [`No prompt bundle loaded from ${manifest.source}; only the built-in prompts are offered.`]
  lines.push(`Built-in prompts: ${manifest.builtin_prompt_ids.join(', ')}.`)
  if (manifest.last_error) lines.push(`Last load failed: ${manifest.last_error}`)
  return lines.join('\n')
}

export const adminReloadPrompts = defineTool({
  name: 'admin_reload_prompts',
  title: 'Reload the prompt bundle (admin)',
  description: [
    'Reload the prompt bundle file now (it also reloads on change); clients get prompts/list_changed. An invalid file is refused and the old bundle stays.',
    'Example: {}.',
    'Errors: only for kmcp administrators.',
  ].join('\n'),
  input: {},
  get output() {
    return {...manifestShape(), reloaded: z.boolean().describe('The bundle in use changed')}
  },
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (_args, context) => {
    requireAdmin(context)
    const registry = promptRegistry()
    // Not a Kubernetes change, so the registry cannot dry-run it: a dry run only reports the bundle in use.
    if (context.dryRun) return {structured: {...registry.manifest(), reloaded: false, status: 'dry_run'}, target: registry.path, render: (s: Record<string, unknown>) => `Dry run: the prompt bundle would be read again from ${registry.path}. Nothing was reloaded.\n${renderManifest(s as never)}`}
    const result = registry.reload()
    const structured = {...registry.manifest(), reloaded: result.changed, status: result.changed ? 'reloaded' : 'unchanged'}
    return {
      structured,
      target: registry.path,
      render: (s: typeof structured) => `${s.reloaded ? 'Prompts reloaded.' : result.error ? 'Prompts NOT reloaded: the file was refused (previous bundle kept).' : 'Prompts unchanged (same file content).'}\n${renderManifest(s)}`,
    }
  },
})

export const adminGetPromptManifest = defineTool({
  name: 'admin_get_prompt_manifest',
  title: 'Show the prompt bundle manifest (admin)',
  description: [
    'Which prompt bundle is loaded: file, version, hash, prompt ids, and the last load error.',
    'Example: {}.',
    'Errors: only for kmcp administrators.',
  ].join('\n'),
  input: {},
  get output() {
    return manifestShape()
  },
  annotations: {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false},
  handler: async (_args, context) => {
    requireAdmin(context)
    const structured: PromptManifest & Record<string, unknown> = {...promptRegistry().manifest()}
    return {structured, render: (s: typeof structured) => renderManifest(s)}
  },
})

/** Prompt administration, offered only to administrators. */
export const promptAdminToolset: Toolset = {
  name: 'prompt-admin',
  description: 'Prompt bundle administration',
  adminOnly: true,
  tools: [adminReloadPrompts, adminGetPromptManifest],
}
