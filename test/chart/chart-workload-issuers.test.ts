// The chart's oidc.trustedWorkloadIssuers reach kmcp's oidc.yaml as trusted_workload_issuers, in a
// form kmcp's own loader accepts; the values schema refuses an entry kmcp could not use.
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import YAML from 'yaml'
import {oidcYamlSchema} from '../../src/lib/auth/config-schema.ts'
import {loadWorkloadIssuers} from '../../src/lib/auth/workload-issuers.ts'
import {OIDC_CONFIG_MOUNT} from '../../src/lib/setup/secret-names.ts'
import {CHART_DIR, helm, renderChart} from './helpers.ts'

const ISSUERS = [
  {issuer: 'https://token.actions.githubusercontent.com', audience: ['https://kmcp.example.com'], rules: ['repository == "my-org/my-repo"', 'ref matches "refs/heads/*"'], username: 'github:my-org/my-repo', groups: ['kmcp-ci']},
  {issuer: 'https://kubernetes.default.svc.cluster.local', jwks_from_kubernetes: true, rules: ['sub == "system:serviceaccount:ci:kmcp-tests"'], username: 'ci-kmcp-tests'},
]
const BASE = ['--set', 'oidc.issuer=https://idp.example.com/', '--set', 'oidc.clientId=kmcp', '--set', 'oidc.audience=https://kmcp.example.com/api', '--set', 'oidc.publicUrl=https://kmcp.example.com']

test('oidc.trustedWorkloadIssuers become trusted_workload_issuers that kmcp loads', () => {
  const objects = renderChart('wi', 'ns-wi', ...BASE, '--set-json', `oidc.trustedWorkloadIssuers=${JSON.stringify(ISSUERS)}`)
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'wi-kmcp-oidc') as unknown as {data: Record<string, string>}
  assert.ok(configMap, 'the oidc ConfigMap is rendered')
  const config = YAML.parse(configMap.data[OIDC_CONFIG_MOUNT.file]) as Record<string, unknown>
  assert.deepEqual(config.trusted_workload_issuers, ISSUERS)
  const checked = oidcYamlSchema.safeParse(config)
  assert.ok(checked.success, JSON.stringify(checked.error?.issues))
  const issuers = loadWorkloadIssuers(checked.data.trusted_workload_issuers, 'oidc.yaml', {audiences: ['https://kmcp.example.com'], scopes: ['kmcp']})
  assert.deepEqual(issuers.map((i) => [i.issuer, i.jwks.kind, i.username, i.rules.length]), [
    ['https://token.actions.githubusercontent.com', 'discovery', 'github:my-org/my-repo', 2],
    ['https://kubernetes.default.svc.cluster.local', 'kubernetes', 'ci-kmcp-tests', 1],
  ])
  const without = renderChart('wi', 'ns-wi', ...BASE)
  const plain = without.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'wi-kmcp-oidc') as unknown as {data: Record<string, string>}
  assert.equal(YAML.parse(plain.data[OIDC_CONFIG_MOUNT.file]).trusted_workload_issuers, undefined)
})

test('the values schema refuses an entry without a username and an unknown key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-chart-wi-'))
  for (const [entry, message] of [
    [{issuer: 'https://ci.example'}, /username/],
    [{issuer: 'https://ci.example', username: 'u', rule: 'x'}, /rule/],
  ] as const) {
    const values = join(dir, 'values.yaml')
    writeFileSync(values, YAML.stringify({oidc: {trustedWorkloadIssuers: [entry]}}))
    const result = helm('template', 'wi', CHART_DIR, '--namespace', 'ns-wi', ...BASE, '--values', values)
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, message)
  }
})
