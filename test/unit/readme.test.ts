// The README's commands and the docs' links: every `npm run X` the README mentions exists, the
// file each npm script runs exists, the cheap commands run, and every relative link resolves.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {test} from 'node:test'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {scripts: Record<string, string>}).scripts

test('every `npm run X` in the README is a script of package.json', () => {
  const mentioned = [...new Set([...readme.matchAll(/npm run ([a-z][\w:-]*)/g)].map((m) => m[1]))]
  assert.ok(mentioned.length >= 8, `only ${mentioned.length} npm run commands found in README.md`)
  const missing = mentioned.filter((name) => !(name in scripts))
  assert.deepEqual(missing, [], `README.md mentions npm run ${missing.join(', ')}, which package.json does not define`)
  assert.ok('test' in scripts, 'npm test')
})

test('every file an npm script runs exists', () => {
  for (const [name, command] of Object.entries(scripts)) {
    for (const [, file] of command.matchAll(/(?:^|\s)((?:scripts|bin|src|test)\/[\w./-]+\.(?:[cm]?js|ts))(?=\s|$|")/g)) {
      assert.ok(existsSync(join(ROOT, file)), `npm run ${name} runs ${file}, which does not exist`)
    }
  }
})

test('the README\'s cheap commands run: node bin/dev.js --help and --version', () => {
  const help = spawnSync(process.execPath, ['bin/dev.js', '--help'], {cwd: ROOT, encoding: 'utf8', timeout: 60_000})
  assert.equal(help.status, 0, help.stderr)
  assert.match(help.stdout, /serve\s+Run the kmcp MCP server/)
  const version = spawnSync(process.execPath, ['bin/dev.js', '--version'], {cwd: ROOT, encoding: 'utf8', timeout: 60_000})
  assert.equal(version.status, 0, version.stderr)
  assert.match(version.stdout, /^kmcp\/\d+\.\d+\.\d+ \S+ node-v\S+ commit ([0-9a-f]{40}|unknown)\n$/)
})

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, {recursive: true})
    .map(String)
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(dir, name))
}

test('every relative link in README.md and docs/ resolves, anchors included', () => {
  const files = [join(ROOT, 'README.md'), ...markdownFiles(join(ROOT, 'docs'))]
  const broken: string[] = []
  let checked = 0
  for (const file of files) {
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '')
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // https:, mailto:, …
      const [path, anchor] = target.split('#')
      const resolved = path === '' ? file : resolve(dirname(file), decodeURIComponent(path))
      checked++
      if (!existsSync(resolved)) {
        broken.push(`${relative(ROOT, file)}: ${target} (no ${relative(ROOT, resolved)})`)
        continue
      }
      if (anchor && resolved.endsWith('.md') && !headingAnchors(readFileSync(resolved, 'utf8')).has(anchor)) {
        broken.push(`${relative(ROOT, file)}: ${target} (no heading #${anchor})`)
      }
    }
  }
  assert.ok(checked >= 10, `only ${checked} relative links found`)
  assert.deepEqual(broken, [])
})

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to "-". */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>()
  for (const [, heading] of markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    anchors.add(heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-'))
  }
  return anchors
}
