import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {createServer} from 'node:net'
import {once} from 'node:events'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import pjson from '../../package.json' with {type: 'json'}
import {kmcpCommand, REPO_ROOT} from '../support/mcp.ts'

function kmcp(...args: string[]) {
  const cmd = kmcpCommand(...args)
  return spawnSync(cmd.command, cmd.args, {cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000, env: {...process.env, KUBECONFIG: '/nonexistent'}})
}

test('--help lists serve and follows oclif conventions', () => {
  const result = kmcp('--help')
  assert.equal(result.status, 0, result.stderr)
  assert.match(result.stdout, /USAGE\s+\$ kmcp \[COMMAND\]/)
  assert.match(result.stdout, /serve\s+Run the kmcp MCP server/)
})

test('--version prints kmcp/<version>', () => {
  const result = kmcp('--version')
  assert.equal(result.status, 0)
  assert.match(result.stdout, new RegExp(`^kmcp/${pjson.version.replace(/\./g, '\\.')} `))
})

test('serve --help documents every flag with its default', () => {
  const result = kmcp('serve', '--help')
  assert.equal(result.status, 0)
  for (const flag of ['--transport', '--host', '--port', '--path', '--kubeconfig', '--context', '--log-level']) assert.ok(result.stdout.includes(flag), flag)
  assert.match(result.stdout, /default: 4204/)
  assert.match(result.stdout, /default: \/mcp/)
})

test('an unknown flag is a usage error with exit code 2', () => {
  const result = kmcp('serve', '--no-such-flag')
  assert.equal(result.status, 2)
  assert.match(result.stderr, /Nonexistent flag: --no-such-flag/)
})

test('an unknown transport is a usage error with exit code 2', () => {
  const result = kmcp('serve', '--transport', 'carrier-pigeon')
  assert.equal(result.status, 2)
  assert.match(result.stderr, /--transport=carrier-pigeon to be one of: stdio, http/)
})

test('an unknown command says so and exits non-zero', () => {
  const result = kmcp('frobnicate')
  assert.notEqual(result.status, 0)
  assert.match(result.stderr, /command frobnicate not found/)
})

test('HTTP on a non-loopback address without auth is refused with the reason', () => {
  const result = kmcp('serve', '--transport', 'http', '--host', '0.0.0.0', '--port', '0')
  assert.equal(result.status, 1)
  assert.match(result.stderr, /refusing to serve HTTP on 0\.0\.0\.0 without authentication/)
  assert.match(result.stderr, /--insecure-no-auth/)
})

test('a port in use gives a message naming the port and exit code 1', async () => {
  const blocker = createServer()
  blocker.listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  const port = (blocker.address() as {port: number}).port
  try {
    const cmd = kmcpCommand('serve', '--transport', 'http', '--host', '127.0.0.1', '--port', String(port))
    const child = spawn(cmd.command, cmd.args, {cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    const [code] = await once(child, 'exit')
    assert.equal(code, 1)
    assert.match(stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`))
  } finally {
    blocker.close()
  }
})

test('oclif.manifest.json is current: the same commands and flags as src/commands.ts (npm run build regenerates it)', async () => {
  const {COMMANDS} = await import('../../src/commands.ts')
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, unknown>}>}
  assert.deepEqual(Object.keys(manifest.commands).sort(), Object.keys(COMMANDS).sort())
  for (const [id, command] of Object.entries(COMMANDS)) {
    assert.deepEqual(Object.keys(manifest.commands[id].flags).sort(), Object.keys(command.flags ?? {}).sort(), `flags of ${id}`)
  }
})
