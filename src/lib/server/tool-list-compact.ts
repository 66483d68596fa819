/**
 * Shrinks the SDK's tools/list answer to what a model and a validating client need (issue 19: every
 * agent session pays for this list in context). Applied to the answer the SDK computes from the
 * tools' zod schemas, so the snapshot and the live computation stay one computation:
 * - no `$schema` (draft-07 is what MCP assumes), no `default: false` on flags (what absent means), no `propertyNames: {type: "string"}` (JSON keys
 *   always are strings), no `execution.taskSupport: "forbidden"` (the default when absent), no
 *   `annotations.title` repeating `title`;
 * - nested input objects (tolerations, resources) are described once, by their parameter;
 * - output schemas keep their top-level fields, types, enums and required lists (nested objects
 *   and list items are typed `object`: the text result and the field names show them), but no
 *   per-field descriptions (the names and the text result say it) and no closing
 *   `additionalProperties`; the result parts every tool shares (SHARED_RESULT_FIELDS: the dry-run
 *   and wait outcome of changes, the budget's truncation note) are typed `object` and described
 *   once, in the server instructions. structuredContent stays valid: the advertised schema only
 *   admits more than the zod schema the server checks its results against.
 */

/** Object fields explained once in the server instructions instead of in every output schema. */
export const SHARED_RESULT_FIELDS = ['dry_run', 'wait', 'truncated']

/** Levels of `properties` an output schema keeps: the result's own fields. */
const OUTPUT_DEPTH = 1

type Json = null | boolean | number | string | Json[] | {[key: string]: Json}
type JsonObject = {[key: string]: Json}

const isObject = (value: Json | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * `depth` counts the levels of `properties` above this schema; `described` is true only for a
 * tool's own parameters (the properties of the input schema), whose descriptions stay.
 */
function compactSchema(schema: Json, output: boolean, depth: number, described = false): Json {
  if (Array.isArray(schema)) return schema.map((item) => compactSchema(item, output, depth))
  if (!isObject(schema)) return schema
  const result: JsonObject = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$schema') continue
    if (key === 'propertyNames' && isObject(value) && value.type === 'string' && Object.keys(value).length === 1) continue
    // Output fields are described by their names; nested input fields by their parameter.
    if (key === 'description' && !described) continue
    // An absent flag is false: saying so for every dry_run, confirm and wait flag costs ~1 KB a list.
    if (key === 'default' && value === false && schema.type === 'boolean') continue
    // zod's bounds of an unbounded integer say nothing.
    if ((key === 'maximum' && value === Number.MAX_SAFE_INTEGER) || (key === 'minimum' && value === Number.MIN_SAFE_INTEGER)) continue
    if (output && key === 'additionalProperties' && (value === false || (isObject(value) && Object.keys(value).length === 0))) continue
    if (output && (key === 'properties' || key === 'required' || key === 'additionalProperties') && depth >= OUTPUT_DEPTH) continue
    if (key === 'properties' && isObject(value)) {
      result[key] = Object.fromEntries(
        Object.entries(value).map(([name, field]) => [name, output && depth === 0 && SHARED_RESULT_FIELDS.includes(name) ? {type: 'object'} : compactSchema(field, output, depth + 1, !output && depth === 0)]),
      )
      continue
    }
    // `items` and a record's value schema belong to their object's level.
    result[key] = compactSchema(value, output, depth)
  }
  return result
}

/** One tool of a tools/list answer, compacted. */
export function compactTool(tool: JsonObject): JsonObject {
  const result: JsonObject = {}
  for (const [key, value] of Object.entries(tool)) {
    if (key === 'inputSchema' || key === 'outputSchema') {
      result[key] = compactSchema(value, key === 'outputSchema', 0)
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
