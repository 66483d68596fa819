// caBundle: certificate authorities kmcp trusts besides the image's public ones (an identity
// provider behind a company CA). The chart mounts the ConfigMap's or Secret's PEM file inside the
// one projected /etc/mcp volume and names it in NODE_EXTRA_CA_CERTS, which the single executable
// (Bun) and Node both read at start-up. helm-real-auth.test.ts runs it for real against an https
// identity provider signed by a test CA.
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import YAML from 'yaml'
import {OIDC_CONFIG_MOUNT} from '../../src/lib/setup/secret-names.ts'
import type {KubeObject} from '../support/kube.ts'
import {ALL_FEATURES_VALUES, CHART_DIR, helm, renderChart} from './helpers.ts'

const BASE = ['--set', 'oidc.issuer=https://idp.corp.example/', '--set', 'oidc.clientId=kmcp', '--set', 'oidc.audience=https://kmcp.example.com/api', '--set', 'oidc.publicUrl=https://kmcp.example.com']
const CA_FILE = `${OIDC_CONFIG_MOUNT.dir}/ca/ca.crt`

function kmcpPod(objects: KubeObject[], fullname: string): {env: Array<{name: string; value?: string}>; sources: Array<Record<string, any>>; mounts: Array<{name: string; mountPath: string}>; sidecarEnv?: Array<{name: string}>} {
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === fullname) as unknown as {spec: {template: {spec: any}}}
  assert.ok(deployment, `Deployment ${fullname} rendered`)
  const spec = deployment.spec.template.spec
  const container = spec.containers.find((c: {name: string}) => c.name === 'kmcp')
  const config = spec.volumes.find((v: {name: string}) => v.name === 'config')
  return {env: container.env, sources: config?.projected.sources ?? [], mounts: container.volumeMounts, sidecarEnv: spec.containers.find((c: {name: string}) => c.name === 'kmcp-test')?.env}
}

const caSources = (sources: Array<Record<string, any>>) => sources.filter((s) => (s.configMap ?? s.secret).items.some((i: {path: string}) => i.path === 'ca/ca.crt'))

test('caBundle.configMapName mounts the certificates at /etc/mcp/ca/ca.crt and names them in NODE_EXTRA_CA_CERTS', () => {
  const pod = kmcpPod(renderChart('ca', 'ns-ca', ...BASE, '--set', 'caBundle.configMapName=corp-ca'), 'ca-kmcp')
  assert.deepEqual(caSources(pod.sources), [{configMap: {name: 'corp-ca', items: [{key: 'ca.crt', path: 'ca/ca.crt'}]}}])
  assert.equal(pod.env.find((e) => e.name === 'NODE_EXTRA_CA_CERTS')?.value, CA_FILE)
  assert.ok(pod.mounts.some((m) => m.name === 'config' && CA_FILE.startsWith(`${m.mountPath}/`)), 'the file lies inside the mounted config volume')
})

test('caBundle.secretName with another key, also without OAuth', () => {
  const pod = kmcpPod(renderChart('ca', 'ns-ca', '--set', 'oidc.enabled=false', '--set', 'redis.enabled=false', '--set', 'caBundle.secretName=corp-ca', '--set', 'caBundle.key=bundle.pem'), 'ca-kmcp')
  assert.deepEqual(pod.sources, [{secret: {name: 'corp-ca', items: [{key: 'bundle.pem', path: 'ca/ca.crt'}]}}], 'the config volume holds only the certificates')
  assert.equal(pod.env.find((e) => e.name === 'NODE_EXTRA_CA_CERTS')?.value, CA_FILE)
})

test('without caBundle nothing is mounted or set; the test sidecar never needs it', () => {
  const plain = kmcpPod(renderChart('ca', 'ns-ca', ...BASE), 'ca-kmcp')
  assert.deepEqual(caSources(plain.sources), [])
  assert.equal(plain.env.find((e) => e.name === 'NODE_EXTRA_CA_CERTS'), undefined)
  const all = kmcpPod(renderChart('ca', 'ns-ca', '--values', ALL_FEATURES_VALUES), 'ca-kmcp')
  assert.equal(caSources(all.sources).length, 1)
  assert.equal(all.sidecarEnv?.some((e) => e.name === 'NODE_EXTRA_CA_CERTS'), false, 'the loopback test server talks to no identity provider')
})

test('both a ConfigMap and a Secret, an empty key or an unknown key are refused with the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-chart-ca-'))
  for (const [caBundle, message] of [
    [{configMapName: 'a', secretName: 'b'}, /caBundle.configMapName and caBundle.secretName both name .*set one of them/],
    [{configMapName: 'a', key: ''}, /caBundle\/key|key/],
    [{configMap: 'a'}, /configMap/],
  ] as const) {
    const values = join(dir, 'values.yaml')
    writeFileSync(values, YAML.stringify({caBundle}))
    const result = helm('template', 'ca', CHART_DIR, '--namespace', 'ns-ca', ...BASE, '--values', values)
    assert.notEqual(result.code, 0, JSON.stringify(caBundle))
    assert.match(result.stderr, message)
  }
})
