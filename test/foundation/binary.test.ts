import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import pjson from '../../package.json' with {type: 'json'}
import {REPO_ROOT} from '../support/mcp.ts'

const built = join(REPO_ROOT, 'dist', 'kmcp')

test('the single executable, copied alone into an empty directory, runs --help, --version and serve over stdio', async () => {
  assert.ok(existsSync(built), 'dist/kmcp is missing: npm test builds it with scripts/build-binary.ts')
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-binary-'))
  const binary = join(dir, 'kmcp')
  copyFileSync(built, binary)
  try {
    // An empty environment: no PATH, no HOME, no node_modules anywhere near.
    const help = spawnSync(binary, ['--help'], {cwd: dir, env: {}, encoding: 'utf8'})
    assert.equal(help.status, 0, help.stderr)
    assert.match(help.stdout, /serve\s+Run the kmcp MCP server/)
    const version = spawnSync(binary, ['--version'], {cwd: dir, env: {}, encoding: 'utf8'})
    assert.equal(version.status, 0, version.stderr)
    assert.match(version.stdout, new RegExp(`^kmcp/${pjson.version.replace(/\./g, '\\.')} `))
    assert.match(version.stdout, / commit [0-9a-f]{40}\n$/, 'the executable records the git commit it was built from')
    const serveHelp = spawnSync(binary, ['serve', '--help'], {cwd: dir, env: {}, encoding: 'utf8'})
    assert.match(serveHelp.stdout, /--transport=<option>/)

    const client = new Client({name: 'binary-test', version: '1.0.0'})
    await client.connect(new StdioClientTransport({command: binary, args: ['serve', '--transport', 'stdio'], cwd: dir, env: {}, stderr: 'pipe'}))
    try {
      assert.equal(client.getServerVersion()?.name, 'kmcp')
      const {tools} = await client.listTools()
      assert.ok(tools.some((t) => t.name === 'list_postgres_clusters'))
      // No kubeconfig anywhere: the tool says so instead of crashing the server.
      const result = (await client.callTool({name: 'list_postgres_clusters', arguments: {}})) as {isError?: boolean; content: Array<{text: string}>}
      assert.equal(result.isError, true)
      assert.match(result.content[0].text, /No usable Kubernetes configuration/)
    } finally {
      await client.close()
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})
