// The golden tools/list: any change to what agents see (names, descriptions, annotations, schemas)
// shows up as a diff of test/safety/tools-list.golden.json in review. To accept a change:
// node scripts/update-tools-golden.ts (or KMCP_UPDATE_GOLDEN=1 with this test), then review the diff.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {GOLDEN_FILE, currentToolsList} from './tools-list-golden.ts'

interface Surface {
  name: string
  annotations: {readOnlyHint?: boolean; destructiveHint?: boolean}
  inputSchema: {properties?: Record<string, {type?: unknown}>; additionalProperties?: unknown}
  outputSchema?: Record<string, unknown>
}

test('tools/list matches the checked-in golden file', async () => {
  const current = await currentToolsList()
  if (process.env.KMCP_UPDATE_GOLDEN === '1') {
    writeFileSync(GOLDEN_FILE, current)
    return
  }
  const golden = readFileSync(GOLDEN_FILE, 'utf8')
  assert.equal(current, golden, 'tools/list changed: if intended, run `node scripts/update-tools-golden.ts` and review the diff of test/safety/tools-list.golden.json')
})

test('every tool follows the uniform surface: strict inputs, format, dry_run, confirm flags, portable output schemas', async () => {
  const tools = JSON.parse(await currentToolsList()) as Surface[]
  for (const tool of tools) {
    const params = tool.inputSchema.properties ?? {}
    assert.equal(tool.inputSchema.additionalProperties, false, `${tool.name}: unknown arguments are refused`)
    assert.ok(params.format, `${tool.name} takes format`)
    assert.ok(tool.outputSchema, `${tool.name} declares an outputSchema`)
    if (!tool.annotations.readOnlyHint) assert.ok(params.dry_run, `${tool.name} (mutating) takes dry_run`)
    else assert.ok(!params.dry_run, `${tool.name} (read-only) has no dry_run`)
    const flags = Object.keys(params).filter((p) => p.startsWith('confirm'))
    assert.equal(flags.length, tool.annotations.destructiveHint ? 1 : 0, `${tool.name}: one confirm flag exactly when destructive (${flags.join(', ')})`)
    // Strict MCP clients warn on type arrays such as ["string", "null"]: only portable JSON Schema.
    const typeArrays: string[] = []
    const walk = (node: unknown, path: string) => {
      if (!node || typeof node !== 'object') return
      if (Array.isArray((node as {type?: unknown}).type)) typeArrays.push(path)
      for (const [key, value] of Object.entries(node)) walk(value, `${path}/${key}`)
    }
    walk(tool.outputSchema, 'outputSchema')
    walk(tool.inputSchema, 'inputSchema')
    assert.deepEqual(typeArrays, [], `${tool.name}: no type arrays`)
  }
})
