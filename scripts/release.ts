// npm run release: cross-compiles the single executable for every supported platform, writes
// SHA-256 checksums, and lays out + packs the npm packages (docs/single-binary.md#releases):
//   dist/release/bin/kmcp-<platform>[.exe]     the executables
//   dist/release/SHA256SUMS                    `sha256sum -c` format, executables and tarballs
//   dist/release/npm/<package>/                kmcp (launcher) and @kmcp/<platform> (executable)
//   dist/release/npm/*.tgz                     what `npm publish` would upload
// Run with bun. Options: --targets linux-x64,darwin-arm64 (default: all), --out DIR,
// --allow-missing (exit 0 even when a target could not be built; it is still reported).
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {basename, join, relative, resolve} from 'node:path'
import {buildBinary, gitCommit, ROOT} from './build-binary.ts'

interface Platform {
  /** Our name for it, as in `@kmcp/<id>`: Node's process.platform-process.arch. */
  id: string
  bunTarget: string
  os: string
  cpu: string
}

export const PLATFORMS: Platform[] = [
  {id: 'linux-x64', bunTarget: 'bun-linux-x64', os: 'linux', cpu: 'x64'},
  {id: 'linux-arm64', bunTarget: 'bun-linux-arm64', os: 'linux', cpu: 'arm64'},
  {id: 'darwin-x64', bunTarget: 'bun-darwin-x64', os: 'darwin', cpu: 'x64'},
  {id: 'darwin-arm64', bunTarget: 'bun-darwin-arm64', os: 'darwin', cpu: 'arm64'},
  {id: 'win32-x64', bunTarget: 'bun-windows-x64', os: 'win32', cpu: 'x64'},
]

const args = process.argv.slice(2)
const option = (name: string) => {
  const index = args.indexOf(name)
  return index >= 0 ? args[index + 1] : undefined
}
const say = (message: string) => process.stderr.write(`release: ${message}\n`)

const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string; description: string; license: string}
const out = resolve(ROOT, option('--out') ?? 'dist/release')
const wanted = option('--targets')?.split(',').map((id) => id.trim().replace(/^windows-/, 'win32-'))
const unknown = wanted?.filter((id) => !PLATFORMS.some((p) => p.id === id)) ?? []
if (unknown.length > 0) {
  say(`unknown target(s) ${unknown.join(', ')}; known: ${PLATFORMS.map((p) => p.id).join(', ')}`)
  process.exit(2)
}
const platforms = wanted ? PLATFORMS.filter((p) => wanted.includes(p.id)) : PLATFORMS
const executableName = (platform: Platform) => (platform.os === 'win32' ? 'kmcp.exe' : 'kmcp')

rmSync(out, {recursive: true, force: true})
mkdirSync(join(out, 'bin'), {recursive: true})
const commit = gitCommit()
say(`kmcp ${pjson.version} (commit ${commit}) for ${platforms.map((p) => p.id).join(', ')}`)

// 1. Executables. Bun embeds the target's own runtime; for a foreign platform it fetches that
// runtime (the @oven/bun-<os>-<cpu> package of the pinned bun version) from the npm registry.
const built: Platform[] = []
const failed: Array<{platform: Platform; why: string}> = []
for (const platform of platforms) {
  const outfile = join(out, 'bin', `kmcp-${platform.id}${platform.os === 'win32' ? '.exe' : ''}`)
  const started = Date.now()
  try {
    const result = await buildBinary({target: platform.bunTarget, outfile})
    if (!result.ok) throw new Error(result.logs.map(String).join('\n'))
    if (!existsSync(outfile)) throw new Error(`bun reported success but wrote no ${outfile}`)
    built.push(platform)
    say(`built ${relative(ROOT, outfile)} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  } catch (error) {
    const why = (error as Error).message.split('\n')[0] || String(error)
    failed.push({platform, why})
    say(`NOT BUILT ${platform.id} (${platform.bunTarget}): ${why}`)
  }
}

// 2. npm packages: one per built platform, and the launcher package that depends on them.
const npmDir = join(out, 'npm')
for (const platform of built) {
  const dir = join(npmDir, `kmcp-${platform.id}`)
  mkdirSync(join(dir, 'bin'), {recursive: true})
  const executable = join(dir, 'bin', executableName(platform))
  copyFileSync(join(out, 'bin', `kmcp-${platform.id}${platform.os === 'win32' ? '.exe' : ''}`), executable)
  chmodSync(executable, 0o755)
  writeJson(join(dir, 'package.json'), {
    name: `@kmcp/${platform.id}`,
    version: pjson.version,
    description: `The kmcp executable for ${platform.id}; installed by the kmcp package.`,
    license: pjson.license,
    os: [platform.os],
    cpu: [platform.cpu],
    files: ['bin'],
    preferUnplugged: true,
    gitHead: commit,
  })
  writeFileSync(join(dir, 'README.md'), `# @kmcp/${platform.id}\n\nThe kmcp ${pjson.version} executable for ${platform.id}. Install \`kmcp\` instead; npm picks this package on ${platform.id}.\n`)
}
const launcherDir = join(npmDir, 'kmcp')
mkdirSync(join(launcherDir, 'bin'), {recursive: true})
copyFileSync(join(ROOT, 'scripts/release/kmcp-launcher.cjs'), join(launcherDir, 'bin', 'kmcp.js'))
chmodSync(join(launcherDir, 'bin', 'kmcp.js'), 0o755)
writeJson(join(launcherDir, 'package.json'), {
  name: 'kmcp',
  version: pjson.version,
  description: pjson.description,
  license: pjson.license,
  bin: {kmcp: 'bin/kmcp.js'},
  files: ['bin'],
  engines: {node: '>=18'},
  optionalDependencies: Object.fromEntries(built.map((platform) => [`@kmcp/${platform.id}`, pjson.version])),
  gitHead: commit,
})
writeFileSync(
  join(launcherDir, 'README.md'),
  `# kmcp\n\nAn MCP server that lets AI agents manage CloudNativePG PostgreSQL clusters on Kubernetes, safely.\n\n` +
    '```json\n{"mcpServers": {"kmcp": {"command": "npx", "args": ["-y", "kmcp", "serve", "--transport", "stdio"]}}}\n```\n\n' +
    `This package runs the single executable from the platform package npm installs with it (${built.map((p) => `@kmcp/${p.id}`).join(', ')}).\n`,
)

// 3. Tarballs, as `npm publish` would upload them.
for (const dir of readdirSync(npmDir).map((name) => join(npmDir, name))) {
  const pack = spawnSync('npm', ['pack', dir, '--pack-destination', npmDir, '--silent'], {encoding: 'utf8'})
  if (pack.status !== 0) {
    say(`npm pack ${relative(ROOT, dir)} failed: ${pack.stderr}`)
    process.exit(1)
  }
}

// 4. Checksums of everything a user downloads.
const artifacts = [...readdirSync(join(out, 'bin')).map((name) => join(out, 'bin', name)), ...readdirSync(npmDir).filter((name) => name.endsWith('.tgz')).map((name) => join(npmDir, name))].sort()
const sums = artifacts.map((file) => `${createHash('sha256').update(readFileSync(file)).digest('hex')}  ${relative(out, file)}`)
writeFileSync(join(out, 'SHA256SUMS'), `${sums.join('\n')}\n`)
say(`wrote ${relative(ROOT, join(out, 'SHA256SUMS'))} (${artifacts.length} files) and npm tarballs in ${relative(ROOT, npmDir)}: ${readdirSync(npmDir).filter((n) => n.endsWith('.tgz')).map((n) => basename(n)).join(', ')}`)

if (failed.length > 0) {
  say(`${failed.length} of ${platforms.length} target(s) NOT built: ${failed.map(({platform, why}) => `${platform.id} (${why})`).join('; ')}`)
  if (!args.includes('--allow-missing')) process.exit(1)
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)
}
