// `kmcp test --service ns/name[:port]` when it cannot reach a server: each problem stops the run
// before anything connects, with a message that says what to fix. (The forward itself, through
// the real kubelet, is test/real-node/service-forward.test.ts.)
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {bindRole, createNamespace, deleteNamespace, expectStatus, harness, kubeRequest} from '../support/kube.ts'
import {runKmcpTest, type CommandResult} from './helpers.ts'

let namespace: string

/** oclif wraps error messages over lines prefixed with " ›". */
const unwrapped = (result: CommandResult) => result.stderr.replace(/\s*\n\s*›\s*/g, ' ')

before(async () => {
  namespace = await createNamespace('kmcp-service')
  const pod = {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'kmcp-0', labels: {app: 'kmcp'}}, spec: {containers: [{name: 'kmcp', image: 'example.invalid/kmcp:1', ports: [{name: 'http', containerPort: 4204}]}]}}
  expectStatus('create the pod', await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/pods`, pod), 201)
  for (const [name, selector] of [['kmcp', {app: 'kmcp'}], ['nobody-home', {app: 'none'}]] as const) {
    const service = {apiVersion: 'v1', kind: 'Service', metadata: {name}, spec: {selector, ports: [{name: 'http', port: 80, targetPort: 'http'}, {name: 'metrics', port: 9090}]}}
    expectStatus(`create Service ${name}`, await kubeRequest('admin', 'POST', `/api/v1/namespaces/${namespace}/services`, service), 201)
  }
  // bob may find the pods behind a Service, but not port-forward to them.
  const role = {apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: {name: 'find-pods'}, rules: [{apiGroups: [''], resources: ['services', 'pods'], verbs: ['get', 'list']}, {apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list']}]}
  expectStatus('create the Role', await kubeRequest('admin', 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, role), 201)
  await bindRole(namespace, 'bob', 'find-pods', {roleKind: 'Role'})
})

after(async () => {
  if (namespace) await deleteNamespace(namespace)
})

async function runService(service: string, extra: string[] = [], user: 'admin' | 'bob' = 'admin'): Promise<CommandResult> {
  return runKmcpTest(['--service', service, '--kubeconfig', harness().kubeconfigFor(user), '--suite', 'protocol', ...extra], {timeoutMs: 60_000})
}

describe('kmcp test --service refuses clearly', () => {
  test('a Service that does not exist', async () => {
    const result = await runService(`${namespace}/missing`)
    assert.equal(result.code, 1, result.stderr)
    assert.match(unwrapped(result), new RegExp(`--service ${namespace}/missing: Service ${namespace}/missing does not exist .*kubectl get services -n ${namespace}`))
  })

  test('a port the Service does not have, and several ports without a choice, are named', async () => {
    const wrong = await runService(`${namespace}/kmcp:grpc`)
    assert.match(unwrapped(wrong), /has no port grpc; its ports: http \(80\), metrics \(9090\)/)
    // Two ports, one named http: that one is taken (the pod is not ready, which is the next complaint).
    const chosen = await runService(`${namespace}/kmcp`)
    assert.match(unwrapped(chosen), /has no ready pod/)
  })

  test('a Service whose selector matches no pod, or only a pod that is not ready', async () => {
    const empty = await runService(`${namespace}/nobody-home:http`)
    assert.equal(empty.code, 1)
    assert.match(unwrapped(empty), /Service [a-z0-9-]+\/nobody-home has no ready pod: no pod matches its selector app=none/)
    const pending = await runService(`${namespace}/kmcp:http`)
    assert.equal(pending.code, 1)
    assert.match(unwrapped(pending), /has no ready pod: 1 pod\(s\) match app=kmcp, none ready \(kmcp-0: Pending\)/)
  })

  test('a user without pods/portforward is told which role to add, before anything connects', async () => {
    // The pod looks ready (no kubelet here writes its status): only RBAC stands in the way.
    const status = {status: {phase: 'Running', conditions: [{type: 'Ready', status: 'True'}], podIP: '10.1.0.9'}}
    expectStatus('mark the pod ready', await kubeRequest('admin', 'PATCH', `/api/v1/namespaces/${namespace}/pods/kmcp-0/status`, status, {contentType: 'merge'}), 200)
    const result = await runService(`${namespace}/kmcp:http`, [], 'bob')
    assert.equal(result.code, 1, result.stderr)
    assert.match(unwrapped(result), new RegExp(`may not port-forward to pods in namespace ${namespace}: RBAC must grant get and create on pods/portforward there, e\\.g\\. kubectl create role kmcp-test-forward -n ${namespace} --verb=get,create --resource=pods/portforward`))
  })

  test('usage: --service with --url, a malformed reference, and --login are refused', async () => {
    const both = await runKmcpTest(['--service', `${namespace}/kmcp`, '--url', 'http://127.0.0.1:1/mcp'])
    assert.equal(both.code, 2)
    assert.match(unwrapped(both), /--url=http:\/\/127\.0\.0\.1:1\/mcp cannot also be provided when using --service|cannot also be provided/)
    const malformed = await runKmcpTest(['--service', 'just-a-name'])
    assert.match(unwrapped(malformed), /--service "just-a-name" is not NAMESPACE\/NAME\[:PORT\]/)
    const login = await runKmcpTest(['--service', `${namespace}/kmcp`, '--login'])
    assert.equal(login.code, 2)
    assert.match(unwrapped(login), /--login signs in through the server's public URL: use --url with it/)
  })
})
