// kmcp's own chart running FOR REAL on the real node: `kmcp helm install` with a local kmcp image
// (the single executable dist/kmcp in a Debian bookworm image, scripts/node/kmcp-image.mjs) and the
// bundled Redis from Debian's redis-server package. The kubelet starts both kmcp replicas, probes
// /readyz (kmcp reaching the API server with its ServiceAccount), and the rollout finishes with no
// help from the test. Then `kmcp test --service` runs the protocol and cnpg suites through the real
// port-forward to a real kmcp pod. Authentication is off here (oidc.enabled=false, a setting the
// chart offers for kmcp behind something that authenticates); Redis still runs with the chart's
// generated password. The shared deployment WITH authentication (an https identity provider the
// pods reach over the node's link, trusted through the chart's caBundle) is helm-real-auth.test.ts;
// both share their set-up through helm-release.ts.
import assert from 'node:assert/strict'
import {after, describe, test} from 'node:test'
import {byPlugin, describeReport, jsonReport, runKmcpTest} from '../runner/helpers.ts'
import {deleteNamespace, harness} from '../support/kube.ts'
import {RELEASE, chartNode, installAndCheck, nodeValues, podLog, prepareRelease, uninstallRelease} from './helm-release.ts'

describe('kmcp helm install on the real node', {timeout: 600_000}, () => {
  const namespaces: string[] = []
  after(async () => {
    for (const namespace of namespaces) await deleteNamespace(namespace)
  })

  test('two real kmcp pods and the bundled Redis roll out, and kmcp test --service passes through a port-forward to them', {timeout: 600_000}, async (t) => {
    const node = chartNode(t)
    if (!node) return
    const {images, namespace, suiteNamespace, claim} = await prepareRelease(node, 'helm-real', namespaces)

    const {servers} = await installAndCheck({namespace, images, values: {...nodeValues(images, claim, [suiteNamespace]), oidc: {enabled: false}}})

    const result = await runKmcpTest(['--service', `${namespace}/${RELEASE}`, '--kubeconfig', harness().kubeconfigFor('admin'), '--suite', 'protocol,cnpg', '--namespace', suiteNamespace, '--json'], {timeoutMs: 300_000})
    const report = jsonReport(result)
    assert.equal(result.code, 0, `${describeReport(report)}\n${result.stderr.slice(-3000)}`)
    for (const name of ['create_cluster', 'delete_cluster', 'cleanup']) assert.equal(byPlugin(report).get(name)?.status, 'passed', name)
    assert.match(String((report as unknown as {target?: string}).target ?? JSON.stringify(report)), new RegExp(`service ${namespace}/${RELEASE}:http \\(pod ${RELEASE}-[a-z0-9-]+:4204\\)`))

    // The calls reached the real pods: kmcp's own log in a pod records them.
    const logs = await Promise.all(servers.map((p) => podLog(namespace, p.metadata.name)))
    assert.ok(logs.some((text) => /create_postgres_cluster/.test(text)), `a kmcp pod logged the suite's tool calls:\n${logs.map((l) => l.slice(-1500)).join('\n---\n')}`)

    await uninstallRelease(namespace)
  })
})
