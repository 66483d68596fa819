// The single executable answers tools/list from a snapshot made at build time
// (src/lib/server/tool-list-snapshot.ts). It must equal what the sources compute live, so the
// snapshot can never drift from the tool definitions.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import {ListToolsResultSchema} from '@modelcontextprotocol/sdk/types.js'
import {createMcpServer} from '../../src/lib/server/mcp-server.ts'
import {computeToolListAnswers} from '../../src/lib/server/tool-list.ts'
import {REPO_ROOT} from '../support/mcp.ts'

const binary = join(REPO_ROOT, 'dist', 'kmcp')

test('the tools/list answer of dist/kmcp equals the live computation from the sources', {skip: existsSync(binary) ? false : 'dist/kmcp is missing (npm test builds it)'}, async () => {
  const live = await computeToolListAnswers(createMcpServer)
  assert.equal(Object.keys(live).length, 2, 'one answer without and one with the admin tools')
  const client = new Client({name: 'snapshot-test', version: '1'})
  await client.connect(new StdioClientTransport({command: binary, args: ['serve', '--transport', 'stdio', '--kubeconfig', '/nonexistent'], env: {}, stderr: 'pipe'}))
  try {
    // A raw request: the SDK client's listTools() would cache and re-shape nothing, but this
    // compares exactly what went over the wire.
    const served = await client.request({method: 'tools/list', params: {}}, ListToolsResultSchema)
    const key = served.tools.map((tool) => tool.name).sort().join(',')
    assert.ok(live[key], `the binary serves a tool set the sources do not compute: ${key}`)
    assert.deepEqual(served, JSON.parse(live[key]))
  } finally {
    await client.close()
  }
})
