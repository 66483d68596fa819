import {EXPLAINED_BY_INSTRUCTIONS} from '../tools/common-parameters.ts'

/**
 * Shrinks the SDK's tools/list answer to what a model and a validating client need (issue 19: every
 * agent session pays for this list in context, ≤ 1.3 KB a tool). Applied to the answer the SDK
 * computes from the tools' zod schemas, so the snapshot and the live computation stay one
 * computation. What goes, and where it is said instead:
 * - no `$schema` (draft-07 is what MCP assumes), no `default: false` on flags (what absent means),
 *   no `propertyNames: {type: "string"}` (JSON keys always are strings), no
 *   `execution.taskSupport: "forbidden"` (the default when absent), no `annotations.title`
 *   repeating `title`;
 * - the parameters every tool shares (namespace, format, dry_run, all_namespaces, limit, and a
 *   cluster's name: see tools/common-parameters.ts) lose their description and default: the server
 *   instructions explain them once;
 * - input strings lose `minLength: 1`, lengths of 128 and more, patterns that only list the allowed
 *   characters and patterns of 128 characters and more (defensive bounds no real argument meets;
 *   the server still refuses with the rule named); nested input objects
 *   (tolerations, resources) are described by their parameter, keeping only their types;
 * - output schemas keep their top-level fields, types, enums and required lists (nested objects
 *   and list items are typed `object`: the text result and the field names show them), but no
 *   per-field descriptions and no closing `additionalProperties`. The fields every result shares
 *   are left out and described once in the instructions: a change's envelope (CHANGE_RESULT_FIELDS:
 *   status, target, …; a change tool that adds nothing of its own is `{"type": "object"}`), the
 *   budget's truncation note and a list's paging token.
 * structuredContent stays valid: every advertised schema admits a superset of what the zod schema
 * admits that the server checks its arguments and results against, which still refuses with a
 * message naming the rule.
 */

/** The envelope of every change's result (policy/surface.ts `changeEnvelope`, a test keeps them equal). */
export const CHANGE_RESULT_FIELDS = ['status', 'target', 'summary', 'confirmed_by', 'dry_run', 'wait']
/** Result fields any tool may add (the budget's truncation note, a list's paging), described in the instructions. */
export const SHARED_RESULT_FIELDS = ['truncated', 'continue', 'remaining_item_count']

/** Levels of `properties` a schema keeps: the parameters of a call, the fields of a result. */
const KEPT_DEPTH = 1
/** String lengths from this one on are defensive bounds, not guidance; so are patterns this long (an image reference's grammar). */
const DEFENSIVE_LENGTH = 128
/** A pattern that only lists the characters allowed ("^[A-Za-z0-9_.-]+$") keeps out what no real argument has. */
const CHARACTER_SET = /^\^\[[^\]]+\][+*]\$$/

type Json = null | boolean | number | string | Json[] | {[key: string]: Json}
type JsonObject = {[key: string]: Json}

const isObject = (value: Json | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

interface Level {
  output: boolean
  /** Levels of `properties` above this schema. */
  depth: number
  /** Fields the instructions describe, left out of this object's properties. */
  omitted: string[]
}

/** Whether `key: value` of `schema` says nothing a model or a client needs (see the file comment). */
function needless(key: string, value: Json, schema: JsonObject, level: Level): boolean {
  // Descriptions are put back by compactField where they stay: on a call's own parameters.
  if (key === '$schema' || key === 'description') return true
  if (key === 'propertyNames' && isObject(value) && value.type === 'string' && Object.keys(value).length === 1) return true
  // An absent flag is false: saying so for every dry_run, confirm and wait flag costs ~1 KB a list.
  if (key === 'default' && value === false && schema.type === 'boolean') return true
  // zod's bounds of an unbounded integer say nothing.
  if ((key === 'maximum' && value === Number.MAX_SAFE_INTEGER) || (key === 'minimum' && value === Number.MIN_SAFE_INTEGER)) return true
  if (!level.output && schema.type === 'string' && ((key === 'minLength' && value === 1) || (key === 'maxLength' && typeof value === 'number' && value >= DEFENSIVE_LENGTH))) return true
  if (!level.output && key === 'pattern' && typeof value === 'string' && (CHARACTER_SET.test(value) || value.length >= DEFENSIVE_LENGTH)) return true
  // Below the kept depth only types remain; a record's value type (additionalProperties) stays.
  if ((key === 'properties' || key === 'required') && level.depth >= KEPT_DEPTH) return true
  if (key === 'additionalProperties' && (value === false || (isObject(value) && Object.keys(value).length === 0))) return level.output || level.depth >= KEPT_DEPTH
  return false
}

function compactSchema(schema: Json, level: Level): Json {
  if (Array.isArray(schema)) return schema.map((item) => compactSchema(item, level))
  if (!isObject(schema)) return schema
  const result: JsonObject = {}
  for (const [key, value] of Object.entries(schema)) {
    if (needless(key, value, schema, level)) continue
    if (key === 'properties' && isObject(value)) {
      const kept = Object.entries(value).filter(([name]) => !level.omitted.includes(name))
      if (kept.length > 0) result[key] = Object.fromEntries(kept.map(([name, field]) => [name, compactField(field, level)]))
      continue
    }
    if (key === 'required' && Array.isArray(value)) {
      const kept = value.filter((name) => !level.omitted.includes(name as string))
      if (kept.length > 0) result[key] = kept
      continue
    }
    // Values, not schemas: kept as they are.
    if (key === 'default' || key === 'enum' || key === 'const' || key === 'examples') {
      result[key] = value
      continue
    }
    // `items` and a record's value schema belong to their object's level.
    result[key] = compactSchema(value, {...level, omitted: []})
  }
  return result
}

/**
 * A parameter of a call or a field of a result. Only parameters keep a description (output fields
 * are described by their names, nested input fields by their parameter), and not the parameters
 * the instructions explain.
 */
function compactField(field: Json, parent: Level): Json {
  const compact = compactSchema(field, {output: parent.output, depth: parent.depth + 1, omitted: []})
  if (!isObject(compact) || !isObject(field)) return compact
  const {description} = field
  const shared = typeof description === 'string' && EXPLAINED_BY_INSTRUCTIONS.has(description)
  const {default: fallback, ...rest} = compact
  const keepDescription = !parent.output && parent.depth === 0 && !shared && description !== undefined
  return {...(keepDescription ? {description} : {}), ...(shared || fallback === undefined ? {} : {default: fallback}), ...rest}
}

/** One tool of a tools/list answer, compacted. */
export function compactTool(tool: JsonObject): JsonObject {
  const changes = !(isObject(tool.annotations) && tool.annotations.readOnlyHint === true)
  const result: JsonObject = {}
  for (const [key, value] of Object.entries(tool)) {
    if (key === 'inputSchema') {
      result[key] = compactSchema(value, {output: false, depth: 0, omitted: []})
    } else if (key === 'outputSchema') {
      result[key] = compactSchema(value, {output: true, depth: 0, omitted: changes ? [...CHANGE_RESULT_FIELDS, ...SHARED_RESULT_FIELDS] : SHARED_RESULT_FIELDS})
    } else if (key === 'annotations' && isObject(value)) {
      result[key] = Object.fromEntries(Object.entries(value).filter(([name, hint]) => !(name === 'title' && hint === tool.title)))
    } else if (key === 'execution' && isObject(value)) {
      const {taskSupport, ...rest} = value
      const execution = taskSupport === 'forbidden' ? rest : value
      if (Object.keys(execution).length > 0) result[key] = execution
    } else {
      result[key] = value
    }
  }
  return result
}

/** A tools/list answer with every tool compacted. */
export function compactToolList<T>(answer: T): T {
  const tools = (answer as {tools?: Json[]}).tools
  if (!Array.isArray(tools)) return answer
  return {...answer, tools: tools.map((tool) => (isObject(tool) ? compactTool(tool) : tool))}
}
