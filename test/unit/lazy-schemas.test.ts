// Start-up time: loading the tool modules must build no zod schema (kmcp serve answers initialize
// and tools/list without them); a tool's schemas are built on its first use, once per process.
// Counted in a fresh process by the `_zod` property zod defines on every schema it builds.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {test} from 'node:test'
import {pathToFileURL} from 'node:url'

const src = pathToFileURL(new URL('../../src/', import.meta.url).pathname).href
const probe = `
let built = 0
const define = Object.defineProperty
Object.defineProperty = function (target, key, descriptor) {
  if (key === '_zod') built++
  return define(target, key, descriptor)
}
await import('zod')
await import('@modelcontextprotocol/sdk/types.js')
// The prompt bundle's own schemas belong to the server, which loads them anyway.
await import('${src}lib/server/prompts/registry.ts')
const before = built
const {toolsets} = await import('${src}lib/tools/index.ts')
const importing = built - before
const {inputSchema, outputSchema} = await import('${src}lib/tools/policy/surface.ts')
const tools = toolsets.flatMap((toolset) => toolset.tools)
for (const tool of tools) { inputSchema(tool); outputSchema(tool) }
const firstUse = built - before - importing
const again = tools.every((tool) => inputSchema(tool) === inputSchema(tool) && outputSchema(tool) === outputSchema(tool))
for (const tool of tools) { inputSchema(tool); outputSchema(tool) }
console.log(JSON.stringify({importing, firstUse, again, secondUse: built - before - importing - firstUse}))
`

test('importing the tools builds no zod schema; first use builds them, once per tool', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8'})
  const counts = JSON.parse(out) as {importing: number; firstUse: number; again: boolean; secondUse: number}
  assert.equal(counts.importing, 0, 'zod schemas built while the tool modules load: declare them with once() or as getters')
  assert.ok(counts.firstUse > 500, `building every tool's schemas counted only ${counts.firstUse} zod objects: the count is broken`)
  assert.equal(counts.again, true, 'inputSchema/outputSchema return the same object for a tool')
  assert.equal(counts.secondUse, 0)
})
