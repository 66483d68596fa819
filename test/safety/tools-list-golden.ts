// The surface agents see, as checked in at test/safety/tools-list.golden.json: every tool's name,
// title, description, annotations and schemas, in tools/list order. Shared by the golden test and
// scripts/update-tools-golden.ts (which rewrites the file after an intended change).
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import {resolve} from 'node:path'
import {REPO_ROOT, kmcpCommand} from '../support/mcp.ts'

export const GOLDEN_FILE = resolve(REPO_ROOT, 'test', 'safety', 'tools-list.golden.json')

/** tools/list of a default `kmcp serve` (stdio, every toolset, local admin), as stable JSON text. */
export async function currentToolsList(): Promise<string> {
  // tools/list needs no Kubernetes: the client is only created on the first tool call.
  const cmd = kmcpCommand('serve', '--transport', 'stdio', '--kubeconfig', resolve(REPO_ROOT, 'no-such-kubeconfig'))
  const transport = new StdioClientTransport({command: cmd.command, args: cmd.args, cwd: REPO_ROOT, env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', KMCP_LOG_LEVEL: 'error'}, stderr: 'ignore'})
  const client = new Client({name: 'kmcp-golden', version: '1.0.0'})
  await client.connect(transport)
  try {
    const {tools} = await client.listTools()
    const surface = tools.map((t) => ({name: t.name, title: t.title, annotations: t.annotations, description: t.description, inputSchema: t.inputSchema, outputSchema: t.outputSchema}))
    return `${JSON.stringify(surface, null, 2)}\n`
  } finally {
    await client.close()
  }
}
