// The chart's oidc.machineClients reach kmcp's oidc.yaml as machine_clients, each secret a file of the
// config volume taken from the Secret the entry names, in a form kmcp's own loader accepts (it reads
// the secret file); the values schema refuses an entry kmcp could not use.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {test} from 'node:test'
import YAML from 'yaml'
import {oidcYamlSchema} from '../../src/lib/auth/config-schema.ts'
import {loadMachineClients} from '../../src/lib/auth/machine-clients.ts'
import {OIDC_CONFIG_MOUNT} from '../../src/lib/setup/secret-names.ts'
import {CHART_DIR, helm, renderChart} from './helpers.ts'

const CLIENTS = [
  {client_id: 'ci-tests', secretName: 'kmcp-ci-tests', username: 'ci-tests', groups: ['kmcp-ci'], scopes: ['kmcp'], token_lifetime_seconds: 900},
  {client_id: 'release-bot', secretName: 'kmcp-bots', secretKey: 'release-bot'},
]
const BASE = ['--set', 'oidc.issuer=https://idp.example.com/', '--set', 'oidc.clientId=kmcp', '--set', 'oidc.audience=https://kmcp.example.com/api', '--set', 'oidc.publicUrl=https://kmcp.example.com']

interface Projected {
  secret?: {name: string; items: Array<{key: string; path: string}>}
}

test('oidc.machineClients become machine_clients whose secret files come from the named Secrets', () => {
  const objects = renderChart('mc', 'ns-mc', ...BASE, '--set-json', `oidc.machineClients=${JSON.stringify(CLIENTS)}`)
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'mc-kmcp-oidc') as unknown as {data: Record<string, string>}
  const config = YAML.parse(configMap.data[OIDC_CONFIG_MOUNT.file]) as Record<string, unknown>
  const configDir = OIDC_CONFIG_MOUNT.dir
  assert.deepEqual(config.machine_clients, [
    {client_id: 'ci-tests', client_secret_file: `${configDir}/machine-clients/0/client-secret`, username: 'ci-tests', groups: ['kmcp-ci'], scopes: ['kmcp'], token_lifetime_seconds: 900},
    {client_id: 'release-bot', client_secret_file: `${configDir}/machine-clients/1/client-secret`},
  ])

  // The pod's config volume holds each Secret's key at the path the config names.
  const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as {spec: {template: {spec: {volumes: Array<{name: string; projected?: {sources: Projected[]}}>; containers: Array<{volumeMounts: Array<{name: string; mountPath: string}>}>}}}}
  const pod = deployment.spec.template.spec
  const volume = pod.volumes.find((v) => v.name === 'config')!
  const mount = pod.containers[0].volumeMounts.find((m) => m.name === 'config')!
  assert.equal(mount.mountPath, configDir)
  const secrets = volume.projected!.sources.filter((s) => s.secret?.items.some((i) => i.path.startsWith('machine-clients/')))
  assert.deepEqual(secrets.map((s) => s.secret), [
    {name: 'kmcp-ci-tests', items: [{key: 'client-secret', path: 'machine-clients/0/client-secret'}]},
    {name: 'kmcp-bots', items: [{key: 'release-bot', path: 'machine-clients/1/client-secret'}]},
  ])

  // kmcp's own loader accepts the rendered entries once the files exist where the volume puts them.
  const root = mkdtempSync(join(tmpdir(), 'kmcp-chart-mc-'))
  const relocated = (config.machine_clients as Array<{client_secret_file: string}>).map((c) => ({...c, client_secret_file: join(root, c.client_secret_file)}))
  for (const client of relocated) {
    mkdirSync(dirname(client.client_secret_file), {recursive: true})
    writeFileSync(client.client_secret_file, 'a-secret-of-at-least-16-characters')
  }
  const checked = oidcYamlSchema.safeParse({...config, machine_clients: relocated})
  assert.ok(checked.success, JSON.stringify(checked.error?.issues))
  const loaded = loadMachineClients(checked.data.machine_clients, 'oidc.yaml', {}, ['kmcp'])
  assert.deepEqual(loaded.map((c) => [c.clientId, c.username]), [
    ['ci-tests', 'ci-tests'],
    ['release-bot', 'machine:release-bot'],
  ])

  const without = renderChart('mc', 'ns-mc', ...BASE)
  const plain = without.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'mc-kmcp-oidc') as unknown as {data: Record<string, string>}
  assert.equal(YAML.parse(plain.data[OIDC_CONFIG_MOUNT.file]).machine_clients, undefined)
})

test('the values schema refuses an entry without its Secret and an unknown key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-chart-mc-'))
  for (const [entry, message] of [
    [{client_id: 'ci'}, /secretName/],
    [{client_id: 'ci', secretName: 's', client_secret_file: '/x'}, /client_secret_file/],
  ] as const) {
    const values = join(dir, 'values.yaml')
    writeFileSync(values, YAML.stringify({oidc: {machineClients: [entry]}}))
    const result = helm('template', 'mc', CHART_DIR, '--namespace', 'ns-mc', ...BASE, '--values', values)
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, message)
  }
})
