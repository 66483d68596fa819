// The repository stands alone: a clone with nothing beside it gets the CNPG CRDs from the Go module
// pinned in scripts/node/cnpg-module/go.sum, and no file reaches outside the repository for data.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {after, before, describe, test} from 'node:test'
import YAML from 'yaml'
import {cnpgClusterRolesFile, cnpgCrdsDir, REPO_ROOT} from '../support/global-setup.ts'

const CNPG_SCRIPT = join('scripts', 'node', 'cnpg.mjs')
const EXPECTED_CRDS = [
  'backups',
  'clusterimagecatalogs',
  'clusters',
  'databaseroles',
  'databases',
  'failoverquorums',
  'imagecatalogs',
  'poolers',
  'publications',
  'scheduledbackups',
  'subscriptions',
].map((plural) => `${plural}.postgresql.cnpg.io`)

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], {encoding: 'utf8'}).stdout.trim() !== ''
}

/** Runs the clone's own `cnpg.mjs crds` with its own, empty cache; returns the exit code, JSON result and stderr. */
function fetchCrdsIn(clone: string, cacheDir: string) {
  const res = spawnSync(process.execPath, [join(clone, CNPG_SCRIPT), 'crds'], {
    cwd: clone,
    encoding: 'utf8',
    env: {...process.env, KMCP_CACHE_DIR: cacheDir},
    timeout: 10 * 60_000,
  })
  let result: any
  try {
    result = JSON.parse(res.stdout)
  } catch {}
  return {code: res.status, result, stderr: res.stderr}
}

function crdNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => YAML.parse(readFileSync(join(dir, f), 'utf8')))
    .filter((o) => o?.kind === 'CustomResourceDefinition')
    .map((o) => o.metadata.name)
    .sort()
}

describe('a clone of the repository stands alone', () => {
  let work = ''
  let clone = ''
  const missing = ['git', 'go'].filter((c) => !has(c))

  before(() => {
    if (missing.length) return
    work = mkdtempSync(join(tmpdir(), 'kmcp-clone-'))
    clone = join(work, 'kmcp')
    const res = spawnSync('git', ['clone', '--quiet', '--no-hardlinks', REPO_ROOT, clone], {encoding: 'utf8'})
    assert.equal(res.status, 0, `git clone failed: ${res.stderr}`)
  })
  after(() => {
    if (work) rmSync(work, {recursive: true, force: true})
  })

  test('the clone fetches the same 11 CNPG CRDs from the pinned Go module, with nothing beside it', (t) => {
    if (missing.length) return t.skip(`needs ${missing.join(' and ')} on PATH`)
    assert.deepEqual(readdirSync(work), ['kmcp'], 'the clone has no sibling folders')
    const {code, result, stderr} = fetchCrdsIn(clone, join(work, 'cache'))
    assert.equal(code, 0, `cnpg.mjs crds failed in the clone: ${stderr}`)
    assert.ok(result.crdsDir.startsWith(join(work, 'cache')), `CRDs land in the clone's cache, got ${result.crdsDir}`)
    assert.deepEqual(crdNames(result.crdsDir), EXPECTED_CRDS)
    assert.ok(existsSync(result.webhookManifests), 'the webhook manifests are copied too')
    assert.match(readFileSync(result.webhookManifests, 'utf8'), /kind: ValidatingWebhookConfiguration/)
    // Byte for byte what the test harness installs from this checkout.
    return cnpgCrdsDir().then((installed) => {
      for (const f of readdirSync(installed)) assert.deepEqual(readFileSync(join(result.crdsDir, f)), readFileSync(join(installed, f)), f)
    })
  })

  test('a go.sum that does not match the module is refused', (t) => {
    if (missing.length) return t.skip(`needs ${missing.join(' and ')} on PATH`)
    const goSum = join(clone, 'scripts', 'node', 'cnpg-module', 'go.sum')
    const good = readFileSync(goSum, 'utf8')
    // Flip one character of the module's h1: hash (not of its go.mod line).
    const tampered = good.replace(/(cloudnative-pg v1\.30\.0 h1:)(.)/, (_m, head: string, c: string) => head + (c === 'A' ? 'B' : 'A'))
    assert.notEqual(tampered, good)
    writeFileSync(goSum, tampered)
    try {
      const {code, stderr} = fetchCrdsIn(clone, join(work, 'cache-tampered'))
      assert.notEqual(code, 0, 'a tampered checksum must fail the fetch')
      assert.match(stderr, /checksum mismatch|pins v1\.30\.0/)
      assert.equal(existsSync(join(work, 'cache-tampered', 'cnpg-v1.30.0', 'module', 'crds')), false, 'nothing is published')
    } finally {
      writeFileSync(goSum, good)
    }
  })

  test('the chart ClusterRoles come from the repository fixture', () => {
    const file = cnpgClusterRolesFile()
    if (!process.env.KMCP_CNPG_CLUSTERROLES) assert.equal(relative(REPO_ROOT, file), join('test', 'fixtures', 'cnpg-chart-clusterroles.yaml'))
    const roles = YAML.parseAllDocuments(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'cnpg-chart-clusterroles.yaml'), 'utf8')).map((d) => d.toJS())
    assert.deepEqual(
      roles.map((r) => r.metadata.name),
      ['cnpg-cloudnative-pg-view', 'cnpg-cloudnative-pg-edit'],
    )
    for (const r of roles) assert.equal(r.rules[0].resources.length, EXPECTED_CRDS.length + 1, `${r.metadata.name}: every CNPG resource plus clusters/status`)
  })
})

test('no source, test, script, chart or doc file reads data from beside the repository', () => {
  // Built from parts so that this file does not itself mention the path it looks for.
  const parent = '..'
  const needle = `${parent}/shared`
  // The folder itself, not a module whose name merely starts with the same word.
  const mentions = new RegExp(`${needle.replace(/[./]/g, '\\$&')}(?![\\w-])`)
  const offenders: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.')) continue
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (mentions.test(readFileSync(path, 'latin1'))) offenders.push(relative(REPO_ROOT, path))
    }
  }
  for (const top of ['src', 'test', 'scripts', 'chart', 'docs']) walk(join(REPO_ROOT, top))
  assert.deepEqual(offenders, [], `these files mention ${needle}`)
})
