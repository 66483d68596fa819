// Every agent session pays for the tools/list answer in context before it does anything (issue 19).
// A real MCP client reads the list from `kmcp serve` over stdio, as an agent would, and checks its
// size and that each tool still tells a model how to call it: an example and its errors in the
// description ("Example:" and "Errors:" markers), one short sentence per parameter the server
// instructions do not explain, output schemas without per-field prose and without the fields every
// change or list shares (the instructions describe those once). The live computation is what the binary's snapshot is checked
// against (tool-list-snapshot.test.ts), so this holds for dist/kmcp too.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {resolve} from 'node:path'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import {ListToolsResultSchema, type Tool} from '@modelcontextprotocol/sdk/types.js'
import {REPO_ROOT, kmcpCommand} from '../support/mcp.ts'
import {CHANGE_RESULT_FIELDS, SHARED_RESULT_FIELDS} from '../../src/lib/server/tool-list-compact.ts'
import {changeEnvelope, inputShape} from '../../src/lib/tools/policy/surface.ts'
import {EXPLAINED_BY_INSTRUCTIONS, declaredDescription} from '../../src/lib/tools/common-parameters.ts'
import {toolsets} from '../../src/lib/tools/index.ts'
import {createMcpServer} from '../../src/lib/server/mcp-server.ts'
import {computeToolListAnswers} from '../../src/lib/server/tool-list.ts'

/**
 * Average bytes a tool may cost in the compact JSON of tools/list: issue 19's 1.3 KB, whatever
 * tools are added later (see docs/benchmarks.md, "Size of the tools/list answer").
 */
const AVERAGE_BYTES_PER_TOOL = 1300
/** A parameter's description is one short sentence; what parameters share is in the instructions. */
const PARAMETER_DESCRIPTION_MAX = 130

async function listTools(): Promise<{tools: Tool[]; bytes: number; instructions: string}> {
  const cmd = kmcpCommand('serve', '--transport', 'stdio', '--kubeconfig', resolve(REPO_ROOT, 'no-such-kubeconfig'))
  const transport = new StdioClientTransport({command: cmd.command, args: cmd.args, cwd: REPO_ROOT, env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', KMCP_LOG_LEVEL: 'error'}, stderr: 'ignore'})
  const client = new Client({name: 'tool-list-size', version: '1.0.0'})
  await client.connect(transport)
  try {
    // A raw request, so that the size is that of the answer as sent, not as the client re-shapes it.
    const answer = await client.request({method: 'tools/list', params: {}}, ListToolsResultSchema)
    return {tools: answer.tools, bytes: Buffer.byteLength(JSON.stringify(answer)), instructions: client.getInstructions() ?? ''}
  } finally {
    await client.close()
  }
}

const listed = listTools()

test(`tools/list costs at most ${AVERAGE_BYTES_PER_TOOL} bytes a tool on average`, async () => {
  const {tools, bytes} = await listed
  assert.ok(tools.length >= 40, `every toolset is listed (${tools.length} tools)`)
  const largest = tools.map((tool) => ({name: tool.name, bytes: Buffer.byteLength(JSON.stringify(tool))})).sort((a, b) => b.bytes - a.bytes).slice(0, 5)
  assert.ok(bytes <= AVERAGE_BYTES_PER_TOOL * tools.length, `tools/list is ${bytes} bytes for ${tools.length} tools (${Math.round(bytes / tools.length)} a tool; limit ${AVERAGE_BYTES_PER_TOOL}); largest: ${largest.map((t) => `${t.name} ${t.bytes}`).join(', ')}`)
})

test(`every tool set a session can see (with and without the admin tools) costs at most ${AVERAGE_BYTES_PER_TOOL} bytes a tool`, async () => {
  const answers = await computeToolListAnswers(createMcpServer)
  for (const answer of Object.values(answers)) {
    const count = (JSON.parse(answer) as {tools: unknown[]}).tools.length
    const bytes = Buffer.byteLength(answer)
    assert.ok(bytes <= AVERAGE_BYTES_PER_TOOL * count, `${count} tools: ${bytes} bytes (${Math.round(bytes / count)} a tool)`)
  }
})

test('every description names an example call and the errors', async () => {
  const {tools} = await listed
  for (const tool of tools) {
    const description = tool.description ?? ''
    assert.match(description, /^Example: \{.*\}/m, `${tool.name}: an "Example: {…}" line`)
    assert.match(description, /^Errors: \S/m, `${tool.name}: an "Errors: …" line`)
    // Every example must be a call this tool accepts: its argument names are the tool's parameters.
    const parameters = Object.keys(tool.inputSchema.properties ?? {})
    const example = /^Example: (.*)$/m.exec(description)![1]
    for (const [, name] of example.matchAll(/"([a-z_]+)":/g)) {
      assert.ok(parameters.includes(name), `${tool.name}: the example uses "${name}", which is not a parameter (${parameters.join(', ')})`)
    }
  }
})

test('each parameter has one short description, unless the instructions explain it; output schemas carry structure, not prose', async () => {
  const {tools} = await listed
  // What each parameter is declared with (the tool reference document shows these descriptions).
  const shapes = new Map(toolsets.flatMap((toolset) => toolset.tools).map((tool) => [tool.name, inputShape(tool)]))
  for (const tool of tools) {
    const shape = shapes.get(tool.name)
    assert.ok(shape, `${tool.name} is declared in a toolset`)
    for (const [name, schema] of Object.entries(tool.inputSchema.properties ?? {}) as Array<[string, {description?: string}]>) {
      const declared = declaredDescription(shape[name])
      assert.ok(declared.length > 0, `${tool.name}.${name} is declared with a description`)
      if (EXPLAINED_BY_INSTRUCTIONS.has(declared)) {
        assert.equal(schema.description, undefined, `${tool.name}.${name}: explained by the instructions, not again in tools/list`)
        continue
      }
      assert.equal(schema.description, declared, `${tool.name}.${name} keeps its description`)
      assert.ok(schema.description.length <= PARAMETER_DESCRIPTION_MAX, `${tool.name}.${name}: ${schema.description.length} characters: ${schema.description}`)
    }
    const output = JSON.stringify(tool.outputSchema ?? {})
    assert.doesNotMatch(output, /"description"|"\$schema"/, `${tool.name}: output schema without descriptions and $schema`)
    assert.equal(tool.outputSchema?.type, 'object', `${tool.name}: declares an object output schema`)
    const fields = Object.keys(tool.outputSchema?.properties ?? {})
    if (tool.annotations?.readOnlyHint) assert.ok(fields.length > 0, `${tool.name}: a read tool's output schema names its fields`)
    for (const shared of [...SHARED_RESULT_FIELDS, ...(tool.annotations?.readOnlyHint ? [] : CHANGE_RESULT_FIELDS)]) {
      assert.ok(!fields.includes(shared), `${tool.name}: "${shared}" is described in the instructions, not in the output schema`)
    }
    assert.doesNotMatch(JSON.stringify(tool.inputSchema), /"\$schema"/, `${tool.name}: input schema without $schema`)
    assert.equal((tool.annotations as {title?: string} | undefined)?.title, undefined, `${tool.name}: the title is said once, not again in annotations`)
  }
})

test('what the parameters and results share is said once, in the server instructions', async () => {
  const {instructions} = await listed
  for (const shared of ['namespace', 'all_namespaces', 'format', 'detail_level', 'continue', 'limit', 'dry_run', 'confirm', 'wait=true', 'timeout', 'cluster_name', 'remaining_item_count', 'truncated', '403', '404']) {
    assert.ok(instructions.includes(shared), `the instructions explain ${shared}`)
  }
  for (const field of CHANGE_RESULT_FIELDS) assert.ok(instructions.includes(field), `the instructions describe the change result's ${field}`)
})

test('the change result the output schemas leave out is exactly the envelope every change returns', () => {
  assert.deepEqual([...CHANGE_RESULT_FIELDS].sort(), Object.keys(changeEnvelope()).sort())
})
