import {extname} from 'node:path'
import YAML from 'yaml'
import {z} from 'zod'

/**
 * The prompt bundle file: the reference's schema ({version, updated_at?, prompts: [{id, name,
 * description, template, arguments}]}) with its limits measured in bytes, plus checks the
 * reference lacked: unique ids, declared placeholders, and an injection filter on phrases rather
 * than substrings (so "bypassrls" or "override" in a legitimate template are fine).
 */

export const MAX_BUNDLE_BYTES = 1024 * 1024
export const MAX_PROMPTS = 100
export const MAX_TEMPLATE_BYTES = 10_000
const MAX_ARGUMENTS = 20

const argumentSchema = z.object({
  name: z.string().regex(/^[a-z_][a-z0-9_]{0,63}$/, 'argument names are lower-case identifiers (a-z, 0-9, "_", starting with a letter or "_", at most 64 characters)'),
  description: z.string().max(500).default(''),
  required: z.boolean().default(true),
})

const promptSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]{1,64}$/, 'prompt ids may contain only a-z, 0-9 and "-" (at most 64 characters)'),
  name: z.string().min(1).max(200),
  description: z.string().max(2000).default(''),
  template: z.string().min(1).refine((t) => Buffer.byteLength(t, 'utf8') <= MAX_TEMPLATE_BYTES, `templates must be at most ${MAX_TEMPLATE_BYTES} bytes`),
  arguments: z.array(argumentSchema).max(MAX_ARGUMENTS, `at most ${MAX_ARGUMENTS} arguments per prompt`).default([]),
})

const bundleSchema = z.object({
  version: z.union([z.string().min(1).max(64), z.number()]).transform(String),
  updated_at: z.union([z.string().max(64), z.date()]).optional().transform((v) => (v instanceof Date ? v.toISOString() : v)),
  prompts: z.array(promptSchema).max(MAX_PROMPTS, `at most ${MAX_PROMPTS} prompts per bundle`),
})

export type BundlePrompt = z.infer<typeof promptSchema>

export interface PromptBundle {
  version: string
  updated_at?: string
  prompts: BundlePrompt[]
  /** "sha256:<hex>" of the file's bytes: the bundle's ETag. */
  hash: string
}

/** Why a bundle was refused; the previous bundle (if any) stays in use. */
export class PromptBundleError extends Error {
  readonly problems: string[]
  constructor(source: string, problems: string[]) {
    super(`prompt bundle ${source} was not loaded: ${problems.join('; ')}`)
    this.name = 'PromptBundleError'
    this.problems = problems
  }
}

// Phrases of instruction-override attacks, matched as whole words with any spacing.
const INJECTION_PHRASES = [
  /\bignore\s+(all\s+)?(the\s+)?(previous|prior|above)\s+(instructions|prompts?|rules)\b/i,
  /\bdisregard\s+(all\s+)?(the\s+)?(previous|prior|above)\s+(instructions|prompts?|rules)\b/i,
  /\bforget\s+(all\s+)?your\s+(instructions|rules)\b/i,
  /\byou\s+are\s+now\s+(a|an|in)\b/i,
  /\bpretend\s+(that\s+)?you\s+are\b/i,
  /\bsystem\s+prompt\s*:/i,
]

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g

export function placeholdersOf(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]))]
}

/** Fills `{{ name }}` placeholders; a missing optional argument becomes empty text. */
export function renderTemplate(template: string, values: Record<string, string | undefined>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => values[name] ?? '')
}

/** Parses and checks a bundle file's bytes. `reservedIds` are the built-in prompts' ids. */
export function parseBundle(source: string, bytes: Buffer, reservedIds: readonly string[]): PromptBundle {
  if (bytes.length > MAX_BUNDLE_BYTES) throw new PromptBundleError(source, [`the file is ${bytes.length} bytes; at most ${MAX_BUNDLE_BYTES} are accepted`])
  const text = bytes.toString('utf8')
  let raw: unknown
  try {
    const ext = extname(source).toLowerCase()
    raw = ext === '.yaml' || ext === '.yml' ? YAML.parse(text, {maxAliasCount: 100}) : JSON.parse(text)
  } catch (error) {
    throw new PromptBundleError(source, [`it is not valid ${/\.ya?ml$/i.test(source) ? 'YAML' : 'JSON'}: ${(error as Error).message.split('\n')[0]}`])
  }
  const parsed = bundleSchema.safeParse(raw)
  if (!parsed.success) {
    throw new PromptBundleError(source, parsed.error.issues.slice(0, 10).map((issue) => `${issue.path.join('.') || 'the bundle'}: ${issue.message}`))
  }
  const problems: string[] = []
  const seen = new Set<string>()
  for (const prompt of parsed.data.prompts) {
    const where = `prompt "${prompt.id}"`
    if (seen.has(prompt.id)) problems.push(`${where}: the id is used twice`)
    seen.add(prompt.id)
    if (reservedIds.includes(prompt.id)) problems.push(`${where}: the id is reserved for a built-in prompt`)
    const argumentNames = prompt.arguments.map((a) => a.name)
    if (new Set(argumentNames).size !== argumentNames.length) problems.push(`${where}: an argument name is used twice`)
    for (const placeholder of placeholdersOf(prompt.template)) {
      if (!argumentNames.includes(placeholder)) problems.push(`${where}: the template uses {{ ${placeholder} }}, which is not a declared argument`)
    }
    for (const phrase of INJECTION_PHRASES) {
      const match = phrase.exec(prompt.template)
      if (match) problems.push(`${where}: the template contains "${match[0]}", a phrase used to override an agent's instructions`)
    }
  }
  if (problems.length > 0) throw new PromptBundleError(source, problems)
  // node:crypto is loaded when a bundle is, not at every start.
  const {createHash} = process.getBuiltinModule('node:crypto')
  return {...parsed.data, hash: `sha256:${createHash('sha256').update(bytes).digest('hex')}`}
}
