// The chart's files agree with the TypeScript sources they are generated from or tied to.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import YAML from 'yaml'
import {NODE, REPO_ROOT} from '../support/mcp.ts'
import {CHART_DIR} from './helpers.ts'
import {CHART_FILES} from '../../src/lib/helm/chart-bundle.generated.ts'

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {version: string}
const chart = YAML.parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as {version: string; appVersion: string; name: string}

test("Chart.yaml's appVersion and version are package.json's version", () => {
  assert.equal(chart.appVersion, pkg.version, 'appVersion must equal package.json "version" (the default image tag)')
  assert.equal(chart.version, pkg.version)
  assert.equal(chart.name, 'kmcp')
})

test('the generated contract and the embedded chart bundle are current (node scripts/gen-chart.ts --check)', () => {
  const result = spawnSync(NODE, ['--no-warnings', join(REPO_ROOT, 'scripts', 'gen-chart.ts'), '--check'], {cwd: REPO_ROOT, encoding: 'utf8'})
  assert.equal(result.status, 0, result.stderr)
})

test('the embedded bundle holds every chart file except ci/, byte for byte', () => {
  for (const path of ['Chart.yaml', 'values.yaml', 'values.schema.json', 'templates/deployment.yaml', 'templates/_helpers.tpl', 'templates/NOTES.txt', 'files/contract.json']) {
    assert.equal(CHART_FILES.get(path), readFileSync(join(CHART_DIR, path), 'utf8'), path)
  }
  assert.ok(![...CHART_FILES.keys()].some((path) => path.startsWith('ci/')))
})

test('values.schema.json is valid JSON and describes every top-level key of values.yaml', () => {
  const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as {properties: Record<string, unknown>; additionalProperties: boolean}
  const values = YAML.parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>
  assert.equal(schema.additionalProperties, false, 'misspelt keys must be refused')
  for (const key of Object.keys(values)) assert.ok(schema.properties[key], `values.yaml key ${key} is not in values.schema.json`)
})
