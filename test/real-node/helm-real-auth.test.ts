// kmcp's main deployment FOR REAL on the real node: the chart installed by `kmcp helm install` with
// authentication ON, two replicas sharing the bundled Redis, the Secrets made by `kmcp secrets
// create`. The identity provider (the in-process oidc-provider) listens on the machine's end of the
// node's link, where pods reach it, over https with a certificate of a test CA: kmcp accepts only
// https issuers off loopback, and the pods trust the CA the way a user with a company CA would, with
// the chart's caBundle (a ConfigMap, NODE_EXTRA_CA_CERTS). The public URL is https://127.0.0.1:<port>,
// where the test ends TLS (certificate of the same CA) as an ingress would, and hands each connection
// to the real port-forward (pods/portforward via the kubelet) of one pod. The test then:
//  - is refused without a token (401 pointing at the resource metadata) and with tokens of another
//    issuer (a Kubernetes service-account token) or another audience (kmcp's own key, another
//    deployment's audience), each leaving an audit line in the pod's log (read through pods/log);
//  - signs a user in through kmcp's OAuth facade: the pod redeems the code at the https provider;
//  - serves one MCP session from both pods: a port-forward reaches one pod, so the test forwards to
//    each pod in turn behind the same local address (the public URL), same session id, same token;
//  - runs `kmcp test --service <ns>/kmcp --suite protocol,cnpg` with the machine flow of
//    docs/kmcp-test.md: a service-account ID token exchanged (RFC 8693) at kmcp's /token through
//    the forward, the chart trusting the cluster's service-account issuer (trustedWorkloadIssuers).
// Set-up shared with helm-real.test.ts (authentication off) lives in helm-release.ts.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {createServer as createTlsServer, getCACertificates, setDefaultCACertificates, type Server} from 'node:tls'
import {SignJWT, decodeJwt} from 'jose'
import {initializeWith, obtainTokens} from '../auth/helpers.ts'
import {KUBERNETES_ISSUER, createServiceAccount, serviceAccountToken} from '../auth/machine-helpers.ts'
import {runKmcp} from '../chart/helpers.ts'
import {byPlugin, describeReport, jsonReport, runKmcpTest} from '../runner/helpers.ts'
import {deleteNamespace, expectStatus, harness, kubeRequest} from '../support/kube.ts'
import {startIdentityProvider, type TestIdentityProvider} from '../support/oidc.ts'
import {freePort} from '../support/redis.ts'
import {signingKeyFrom} from '../../src/lib/auth/config.ts'
import {createKubeClient} from '../../src/lib/k8s/client.ts'
import {forwardToPod, type PortForwardHandle} from '../../src/lib/testing/port-forward.ts'
import {RELEASE, auditLines, chartNode, installAndCheck, nodeValues, podLog, prepareRelease, uninstallRelease} from './helm-release.ts'

/** A test CA and a server certificate it signed for `ips` (the provider's address pods dial, and the test's own "ingress"). */
function testCertificates(ips: string[]): {caPem: string; key: string; cert: string} {
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-test-ca-'))
  const f = (name: string) => join(dir, name)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=kmcp test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], {stdio: 'ignore'})
  execFileSync('openssl', ['req', ...ec, '-keyout', f('idp.key'), '-out', f('idp.csr'), '-subj', `/CN=${ips[0]}`], {stdio: 'ignore'})
  writeFileSync(f('ext.cnf'), `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`)
  execFileSync('openssl', ['x509', '-req', '-in', f('idp.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('idp.crt')], {stdio: 'ignore'})
  return {caPem: readFileSync(f('ca.crt'), 'utf8'), key: readFileSync(f('idp.key'), 'utf8'), cert: readFileSync(f('idp.crt'), 'utf8')}
}

/**
 * The public URL https://127.0.0.1:<port>: TLS ends here, as at an ingress, and each connection goes
 * on to whichever port-forward is current, so either pod answers behind the same address. Switching
 * closes the open connections (the client's keep-alive would otherwise stay with the old pod).
 */
async function switchableFront(port: number, certificate: {key: string; cert: string}): Promise<{server: Server; target(forward: PortForwardHandle): Promise<void>}> {
  let targetPort = 0
  const open = new Set<Socket>()
  const server = createTlsServer(certificate, (socket) => {
    const upstream = connect(targetPort, '127.0.0.1')
    open.add(socket)
    socket.on('close', () => open.delete(socket))
    socket.pipe(upstream).pipe(socket)
    socket.on('error', () => upstream.destroy())
    upstream.on('error', () => socket.destroy())
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    server,
    target: async (forward) => {
      targetPort = Number(new URL(forward.origin).port)
      await Promise.all([...open].map((socket) => new Promise((resolve) => socket.once('close', resolve).destroy())))
      // Let the client see its pooled connections end before it sends the next request.
      await new Promise((resolve) => setTimeout(resolve, 200))
    },
  }
}

/** One JSON-RPC message to the MCP endpoint; the answer is JSON or one SSE event. */
async function mcpPost(url: string, token: string, body: Record<string, unknown>, session?: string): Promise<{status: number; replica: string | null; session: string | null; message?: Record<string, any>}> {
  const headers: Record<string, string> = {authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25'}
  if (session) headers['mcp-session-id'] = session
  const response = await fetch(url, {method: 'POST', headers, body: JSON.stringify({jsonrpc: '2.0', ...body})})
  const text = await response.text()
  // An SSE stream may carry a priming event (no data) and notifications before the answer: take the message with the request's id.
  const messages = text.trim().startsWith('{') ? [JSON.parse(text)] : text.split('\n').filter((line) => line.startsWith('data: ') && line.length > 6).map((line) => JSON.parse(line.slice(6)) as Record<string, any>)
  const message = messages.find((m) => m.id === body.id) ?? messages[0]
  return {status: response.status, replica: response.headers.get('x-kmcp-replica'), session: response.headers.get('mcp-session-id'), message}
}

describe('kmcp helm install with authentication on the real node', {timeout: 600_000}, () => {
  const namespaces: string[] = []
  let idp: TestIdentityProvider | undefined
  let relay: Server | undefined
  const forwards: PortForwardHandle[] = []
  after(async () => {
    for (const forward of forwards) await forward.close()
    relay?.close()
    await idp?.close()
    for (const namespace of namespaces) await deleteNamespace(namespace)
  })

  test('two authenticated kmcp pods: refusals audited, a user signs in through the https provider, one session on both pods, kmcp test --service with a workload token', {timeout: 600_000}, async (t) => {
    const node = chartNode(t)
    if (!node) return
    if (!node.hostIp) return t.skip('the real node did not report the machine end of its link (hostIp): an older global setup')

    // The provider where pods reach this machine, https with a test CA; this process trusts the CA too (the "browser").
    const certificates = testCertificates([node.hostIp, '127.0.0.1'])
    setDefaultCACertificates([...getCACertificates('default'), certificates.caPem])
    const publicUrl = `https://127.0.0.1:${await freePort()}`
    idp = await startIdentityProvider({kmcpCallbacks: [`${publicUrl}/auth/callback`], host: node.hostIp, tls: certificates})
    assert.match(idp.issuer, /^https:\/\/198\.18\./)

    const {images, namespace, suiteNamespace, claim} = await prepareRelease(node, 'helm-auth', namespaces)
    const admin = harness().kubeconfigFor('admin')

    // The user's own steps (docs/deploy.md): the company CA in a ConfigMap, the Secrets by `kmcp secrets create`.
    const ca = {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'idp-ca'}, data: {'ca.crt': certificates.caPem}}
    expectStatus('create the CA ConfigMap', await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/configmaps`, ca), 201)
    const secretsDir = mkdtempSync(join(tmpdir(), 'kmcp-helm-auth-'))
    writeFileSync(join(secretsDir, 'client-secret'), `${idp.clientSecret}\n`, {mode: 0o600})
    const signingKeyHex = randomBytes(32).toString('hex')
    const secrets = await runKmcp(['secrets', 'create', '--kubeconfig', admin, '--namespace', namespace, '--release', RELEASE, '--client-secret-file', join(secretsDir, 'client-secret'), '--jwt-signing-key', signingKeyHex, '--yes'])
    assert.equal(secrets.code, 0, secrets.stderr)
    await createServiceAccount(namespace, 'kmcp-ci')

    const values = {
      ...nodeValues(images, claim, [suiteNamespace]),
      oidc: {
        enabled: true,
        authType: 'auth0',
        requiredScopes: ['openid', 'profile', 'email', 'offline_access', 'groups'],
        trustedWorkloadIssuers: [{issuer: KUBERNETES_ISSUER, jwks_from_kubernetes: true, rules: [`sub == "system:serviceaccount:${namespace}:kmcp-ci"`], username: 'ci-kmcp', groups: ['kmcp-ci']}],
      },
      caBundle: {configMapName: 'idp-ca'},
    }
    const flags = ['--auth-type', 'auth0', '--issuer', idp.issuer, '--audience', idp.audience, '--client-id', idp.clientId, '--public-url', publicUrl]
    const {servers} = await installAndCheck({namespace, images, values, flags})
    const [podA, podB] = servers.map((p) => p.metadata.name)

    // One local address (the public URL) in front of a port-forward to either pod.
    const kube = await createKubeClient({kubeconfig: admin})
    const toA = await forwardToPod(kube, namespace, podA, 4204)
    const toB = await forwardToPod(kube, namespace, podB, 4204)
    forwards.push(toA, toB)
    const front = await switchableFront(Number(new URL(publicUrl).port), certificates)
    relay = front.server
    const mcpUrl = `${publicUrl}/mcp`
    await front.target(toA)

    // Refused without a token: the challenge names the resource metadata, which names kmcp as its authorization server.
    const bare = await initializeWith(mcpUrl, undefined)
    assert.equal(bare.status, 401)
    const metadataUrl = `${publicUrl}/.well-known/oauth-protected-resource/mcp`
    assert.match(bare.headers.get('www-authenticate') ?? '', new RegExp(`^Bearer .*resource_metadata="${metadataUrl.replace(/[./]/g, '\\$&')}"`))
    const metadata = (await (await fetch(metadataUrl)).json()) as {resource: string; authorization_servers: string[]}
    assert.equal(metadata.resource, mcpUrl)
    assert.deepEqual(metadata.authorization_servers, [publicUrl])

    // A user signs in: kmcp (pod A) sends the browser to the https provider and redeems the code there itself.
    const user = await obtainTokens(publicUrl)
    assert.equal(idp.tokenRequests(), 1, 'the pod redeemed the code at the https provider')
    assert.equal((await initializeWith(mcpUrl, `Bearer ${user.access_token}`)).status, 200)

    // Tokens of another issuer, and kmcp-signed for another deployment's audience: refused.
    const serviceAccountJwt = await serviceAccountToken(namespace, 'kmcp-ci', publicUrl)
    const otherIssuer = await initializeWith(mcpUrl, `Bearer ${serviceAccountJwt}`)
    assert.equal(otherIssuer.status, 401)
    assert.match(otherIssuer.headers.get('www-authenticate') ?? '', /error="invalid_token"/)
    const {kid, key} = signingKeyFrom(signingKeyHex)
    const claims = decodeJwt(user.access_token)
    const otherAudience = await new SignJWT({sub: claims.sub, client_id: claims.client_id, scope: claims.scope, gid: claims.gid})
      .setProtectedHeader({alg: 'HS256', typ: 'at+jwt', kid})
      .setIssuer(String(claims.iss))
      .setAudience('https://other-kmcp.example.com/mcp')
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti('forged-for-another-audience')
      .sign(key)
    assert.equal((await initializeWith(mcpUrl, `Bearer ${otherAudience}`)).status, 401)

    // One session, both pods: opened on A, its tool call answered by B, then A again.
    const opened = await mcpPost(mcpUrl, user.access_token, {id: 1, method: 'initialize', params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'helm-real-auth', version: '1'}}})
    assert.equal(opened.status, 200, JSON.stringify(opened.message))
    const session = opened.session
    assert.ok(session, 'kmcp handed out a session id')
    assert.equal((await mcpPost(mcpUrl, user.access_token, {method: 'notifications/initialized'}, session)).status, 202)
    await front.target(toB)
    // A dry run of a mutating tool: audited with the caller, so pod B's own log shows it served the session.
    const onB = await mcpPost(mcpUrl, user.access_token, {id: 2, method: 'tools/call', params: {name: 'create_postgres_cluster', arguments: {name: 'on-pod-b', namespace: suiteNamespace, dry_run: true}}}, session)
    assert.equal(onB.status, 200, JSON.stringify(onB.message))
    assert.notEqual(onB.message?.result?.isError, true, JSON.stringify(onB.message))
    await front.target(toA)
    const backOnA = await mcpPost(mcpUrl, user.access_token, {id: 3, method: 'tools/list'}, session)
    assert.equal(backOnA.status, 200)
    assert.ok((backOnA.message?.result?.tools ?? []).some((tool: {name: string}) => tool.name === 'create_postgres_cluster'), JSON.stringify(backOnA.message).slice(0, 2000))
    assert.ok(opened.replica?.startsWith(`${podA}-`), `replica ${opened.replica} is pod ${podA}`)
    assert.ok(onB.replica?.startsWith(`${podB}-`), `replica ${onB.replica} is pod ${podB}`)
    assert.equal(backOnA.replica, opened.replica)

    // The machine flow of docs/kmcp-test.md through kmcp test's own port-forward: a workload ID token exchanged at kmcp's /token.
    const idTokenFile = join(secretsDir, 'id-token')
    writeFileSync(idTokenFile, await serviceAccountToken(namespace, 'kmcp-ci', publicUrl), {mode: 0o600})
    const result = await runKmcpTest(['--service', `${namespace}/${RELEASE}`, '--kubeconfig', admin, '--id-token-file', idTokenFile, '--suite', 'protocol,cnpg', '--namespace', suiteNamespace, '--json'], {timeoutMs: 300_000})
    const report = jsonReport(result)
    assert.equal(result.code, 0, `${describeReport(report)}\n${result.stderr.slice(-3000)}`)
    assert.match(byPlugin(report).get('token')?.message ?? '', /obtained a token/)
    for (const name of ['create_cluster', 'delete_cluster', 'cleanup']) assert.equal(byPlugin(report).get(name)?.status, 'passed', name)

    // The pods' own audit lines (kubectl logs): the refusals, the user on both pods, the workload's token and calls.
    const logA = await podLog(namespace, podA)
    const logB = await podLog(namespace, podB)
    const audit = [...auditLines(logA), ...auditLines(logB)]
    const show = () => audit.map((a) => JSON.stringify(a)).join('\n').slice(-6000)
    assert.match(logA + logB, /user signed in.*"subject":"oidc:alice"/, 'the sign-in went through a pod')
    const refused = audit.filter((a) => a.event === 'mcp_unauthorized')
    assert.ok(refused.some((a) => a.reason === 'no_token'), `no token refused:\n${show()}`)
    assert.ok(refused.some((a) => a.reason === 'invalid_token' && /alg|signature|key/i.test(String(a.detail))), `the service-account token refused:\n${show()}`)
    assert.ok(refused.some((a) => a.reason === 'invalid_token' && /"aud"/.test(String(a.detail))), `the token for another audience refused:\n${show()}`)
    for (const line of refused) assert.doesNotMatch(JSON.stringify(line), /eyJ/, 'no token in an audit line')
    assert.ok(auditLines(logB).some((a) => a.tool === 'create_postgres_cluster' && String(a.target).includes('on-pod-b') && a.dry_run === true && String(a.subject ?? '').includes('alice')), `pod B served the user's call:\n${logB.slice(-3000)}`)
    assert.ok(audit.some((a) => a.event === 'machine_token' && a.subject === 'ci-kmcp'), `the workload's token exchange:\n${show()}`)
    assert.ok(audit.some((a) => a.subject === 'ci-kmcp' && a.tool === 'create_postgres_cluster'), `the suite's calls as the workload:\n${show()}`)

    await uninstallRelease(namespace)
  })
})
