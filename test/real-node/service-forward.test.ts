// `kmcp test --service` against the REAL kubelet: the runner port-forwards through the Kubernetes
// API (pods/portforward, client-node's PortForward over WebSocket, the kubelet's and containerd's
// streaming server) to a pod behind a Service. No node image has Node or Bun, so kmcp itself
// cannot run in a pod; the pod (the node's PostgreSQL image) runs a small perl TCP relay to a kmcp
// on this machine, reached over the node's link. Every MCP request of the protocol and cnpg
// suites, and the token request, travel kubelet -> pod -> relay -> kmcp; the relay's log proves
// the connections arrived through the pod's loopback (where port-forward delivers them).
import assert from 'node:assert/strict'
import {mkdtempSync} from 'node:fs'
import {createServer, connect, type AddressInfo, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {cnpgNamespace, startAuthStack, type AuthStack} from '../auth/helpers.ts'
import {auditLinesOf, machineFixtures} from '../auth/machine-helpers.ts'
import {assertValidJunit, byPlugin, describeReport, jsonReport, junitCases, runKmcpTest} from '../runner/helpers.ts'
import {createNamespace, deleteNamespace, expectStatus, harness, kubeRequest, waitFor} from '../support/kube.ts'
import {realNode, skipUnlessRealNode} from '../support/real-node.ts'

/** Accepts on 8080, connects each client to $TARGET and copies both ways; logs where each came from. */
const RELAY = String.raw`
use strict; use IO::Socket::INET; use IO::Select;
$| = 1; $SIG{CHLD} = 'IGNORE';
my $listener = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => 8080, Listen => 64, ReuseAddr => 1) or die "listen: $!";
print "relay listening, target $ENV{TARGET}\n";
while (1) {
  my $client = $listener->accept or next;
  my $pid = fork();
  if (!defined $pid || $pid) { close $client; next }
  my $upstream = IO::Socket::INET->new(PeerAddr => $ENV{TARGET}) or exit 1;
  print "relayed a connection from ", $client->peerhost, "\n";
  my $select = IO::Select->new($client, $upstream);
  while (1) {
    for my $from ($select->can_read) {
      my $to = $from == $client ? $upstream : $client;
      my $n = sysread($from, my $buffer, 65536);
      exit 0 unless $n;
      my $off = 0;
      while ($off < $n) { my $w = syswrite($to, $buffer, $n - $off, $off); exit 0 unless defined $w; $off += $w }
    }
  }
}
`

describe('kmcp test --service through the real kubelet', {timeout: 600_000}, () => {
  let stack: AuthStack | undefined
  let hostRelay: Server | undefined
  const namespaces: string[] = []

  after(async () => {
    hostRelay?.close()
    await stack?.stop()
    for (const namespace of namespaces) await deleteNamespace(namespace)
  })

  test('a machine client runs the protocol and cnpg suites through a port-forward to the pod behind a Service', {timeout: 600_000}, async (t) => {
    if (!skipUnlessRealNode(t)) return
    const node = realNode()
    if (!node.available) return
    if (!node.hostIp) return t.skip('the real node did not report the machine end of its link (hostIp): an older global setup')
    const namespace = await createNamespace('svc-forward')
    namespaces.push(namespace)
    const suiteNamespace = await cnpgNamespace('kmcp-test-service')
    namespaces.push(suiteNamespace)
    const fixtures = await machineFixtures({serviceAccountSubject: 'system:serviceaccount:none:none'})
    stack = await startAuthStack({extraConfig: fixtures.config})
    // kmcp listens on loopback; pods reach this machine on the link's address, so relay from there.
    const kmcpPort = Number(new URL(stack.replicas[0].url).port)
    hostRelay = createServer((socket) => {
      const upstream = connect(kmcpPort, '127.0.0.1')
      socket.pipe(upstream).pipe(socket)
      socket.on('error', () => upstream.destroy())
      upstream.on('error', () => socket.destroy())
    })
    await new Promise<void>((resolve) => hostRelay!.listen(0, node.hostIp, resolve))
    const relayTarget = `${node.hostIp}:${(hostRelay.address() as AddressInfo).port}`

    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {name: 'kmcp-relay', labels: {app: 'kmcp-relay'}},
      spec: {
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 1,
        tolerations: [{key: 'kmcp.io/real-node', operator: 'Exists', effect: 'NoSchedule'}],
        containers: [
          {
            name: 'relay',
            image: node.postgresImage,
            imagePullPolicy: 'Never',
            command: ['perl', '-e', RELAY],
            env: [{name: 'TARGET', value: relayTarget}],
            ports: [{name: 'mcp', containerPort: 8080}],
            readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 2},
            resources: {requests: {cpu: '10m', memory: '16Mi'}},
          },
        ],
      },
    }
    expectStatus('create the relay pod', await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/pods`, pod), 201)
    // Port 80 named http, targetPort the container's port name: the runner must resolve both.
    const service = {apiVersion: 'v1', kind: 'Service', metadata: {name: 'kmcp'}, spec: {selector: {app: 'kmcp-relay'}, ports: [{name: 'http', port: 80, targetPort: 'mcp'}]}}
    expectStatus('create the Service', await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/services`, service), 201)
    await waitFor(
      async () => {
        const slices = await kubeRequest('admin', 'GET', `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkmcp`)
        return (slices.body?.items ?? []).some((slice: any) => (slice.endpoints ?? []).some((e: any) => e.conditions?.ready))
      },
      {timeoutMs: 180_000, intervalMs: 1000, message: 'the relay pod ready behind the Service'},
    )

    const junit = join(mkdtempSync(join(tmpdir(), 'kmcp-service-')), 'report.xml')
    const result = await runKmcpTest(
      ['--service', `${namespace}/kmcp`, '--kubeconfig', harness().kubeconfigFor('admin'), '--client-id', 'ci-basic', '--suite', 'protocol,cnpg', '--namespace', suiteNamespace, '--json', '--junit', junit],
      {env: {KMCP_TEST_CLIENT_SECRET: fixtures.basicSecret}, timeoutMs: 400_000},
    )
    const report = jsonReport(result)
    assert.equal(result.code, 0, `${describeReport(report)}\n${result.stderr.slice(-3000)}`)
    assert.equal(byPlugin(report).get('token')?.message, 'obtained a token (client-credentials)')
    for (const name of ['create_cluster', 'delete_cluster', 'cleanup']) assert.equal(byPlugin(report).get(name)?.status, 'passed', name)
    assert.match(String((report as unknown as {target?: string}).target ?? JSON.stringify(report)), new RegExp(`service ${namespace}/kmcp:http \\(pod kmcp-relay:8080\\) via http://127\\.0\\.0\\.1:\\d+/mcp`))
    assertValidJunit(junit)
    assert.equal(junitCases(junit).length, report.summary.total)

    // The server saw the machine client's calls, and they came through the pod.
    assert.ok(auditLinesOf(stack.replicas[0]).some((a) => a.machine_client === 'ci-basic' && a.tool === 'create_postgres_cluster'))
    const logs = await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/pods/kmcp-relay/log`)
    assert.equal(logs.status, 200, logs.text)
    const forwarded = (logs.text.match(/relayed a connection from 127\.0\.0\.1/g) ?? []).length
    assert.ok(forwarded >= 2, `port-forwarded connections arrive on the pod's loopback; relay log:\n${logs.text.slice(-2000)}`)

    // A Service port whose target nothing listens on in the pod: the kubelet's refusal, before any test runs.
    const wrongPort = {apiVersion: 'v1', kind: 'Service', metadata: {name: 'kmcp-wrong-port'}, spec: {selector: {app: 'kmcp-relay'}, ports: [{name: 'http', port: 80, targetPort: 9999}]}}
    expectStatus('create the Service', await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/services`, wrongPort), 201)
    const refused = await runKmcpTest(['--service', `${namespace}/kmcp-wrong-port`, '--kubeconfig', harness().kubeconfigFor('admin'), '--suite', 'protocol'], {timeoutMs: 60_000})
    assert.equal(refused.code, 1, refused.stderr)
    assert.match(refused.stderr.replace(/\s*\n\s*›\s*/g, ' '), new RegExp(`pod ${namespace}/kmcp-relay does not accept connections on port 9999: .*(refused|failed)`, 'i'))
  })
})
