// npm run release's npm packages, installed the way an MCP client's `npx -y kmcp` installs them:
// the launcher package and this platform's package, packed with `npm pack`, installed into an
// empty folder by npm offline (from the tarballs only, with an empty cache), then
// `npx kmcp serve --transport stdio` answers initialize and tools/list through the SDK's client.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, test} from 'node:test'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import pjson from '../../package.json' with {type: 'json'}
import {REPO_ROOT} from '../support/mcp.ts'

const work = mkdtempSync(join(tmpdir(), 'kmcp-release-'))
after(() => rmSync(work, {recursive: true, force: true}))
const platform = `${process.platform}-${process.arch}`

test('the npm packages install offline from their tarballs and npx kmcp serves MCP over stdio', {timeout: 600_000}, async (t) => {
  if (platform !== 'linux-x64' && platform !== 'linux-arm64' && platform !== 'darwin-x64' && platform !== 'darwin-arm64') {
    t.skip(`no release target is run on ${platform} by this test`)
    return
  }
  const out = join(work, 'release')
  const release = spawnSync(join(REPO_ROOT, 'node_modules/.bin/bun'), ['scripts/release.ts', '--targets', platform, '--out', out], {cwd: REPO_ROOT, encoding: 'utf8', timeout: 540_000})
  assert.equal(release.status, 0, `release failed:\n${release.stderr}`)

  // The checksums cover the executable and both tarballs, and match them.
  const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8').trim().split('\n').map((line) => line.split(/ {2}/))
  assert.deepEqual(sums.map(([, file]) => file).sort(), [`bin/kmcp-${platform}`, `npm/kmcp-${pjson.version}.tgz`, `npm/kmcp-${platform}-${pjson.version}.tgz`])
  for (const [sum, file] of sums) assert.equal(createHash('sha256').update(readFileSync(join(out, file))).digest('hex'), sum, file)

  // The launcher depends on exactly the platform packages that were built.
  const launcher = JSON.parse(readFileSync(join(out, 'npm/kmcp/package.json'), 'utf8'))
  assert.deepEqual(launcher.optionalDependencies, {[`@kmcp/${platform}`]: pjson.version})
  assert.deepEqual(launcher.bin, {kmcp: 'bin/kmcp.js'})

  const app = join(work, 'app')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), '{"name": "app", "private": true}\n')
  const npmEnv = {...cleanEnv(), npm_config_cache: join(work, 'npm-cache'), npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false'}
  const tarballs = readdirSync(join(out, 'npm')).filter((name) => name.endsWith('.tgz')).map((name) => join(out, 'npm', name))
  const install = spawnSync('npm', ['install', ...tarballs], {cwd: app, env: npmEnv, encoding: 'utf8', timeout: 120_000})
  assert.equal(install.status, 0, `npm install (offline) failed:\n${install.stdout}\n${install.stderr}`)

  const version = spawnSync('npx', ['kmcp', '--version'], {cwd: app, env: npmEnv, encoding: 'utf8', timeout: 60_000})
  assert.equal(version.status, 0, version.stderr)
  assert.match(version.stdout, new RegExp(`^kmcp/${pjson.version.replace(/\./g, '\\.')} ${platform} node-v\\S+ commit [0-9a-f]{40}\\n$`))

  const client = new Client({name: 'release-test', version: '1.0.0'})
  await client.connect(new StdioClientTransport({command: 'npx', args: ['kmcp', 'serve', '--transport', 'stdio'], cwd: app, env: npmEnv, stderr: 'pipe'}))
  try {
    assert.equal(client.getServerVersion()?.name, 'kmcp')
    assert.equal(client.getServerVersion()?.version, pjson.version)
    const {tools} = await client.listTools()
    assert.ok(tools.length >= 20, `only ${tools.length} tools`)
    assert.ok(tools.some((tool) => tool.name === 'list_postgres_clusters'))
  } finally {
    await client.close()
  }
})

/** The environment without the npm_* variables of the `npm test` that runs this file. */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && !/^npm_/i.test(entry[0])))
}
