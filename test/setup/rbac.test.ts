// `kmcp rbac setup` against the real API server (test harness), as a real process. The
// verification table is checked against what the API server really lets the ServiceAccount do,
// acting as it with a token from the kubeconfig the command writes.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import YAML from 'yaml'
import {KMCP_RBAC, toPolicyRules} from '../../src/lib/setup/rbac-rules.ts'
import {createNamespace, harness, kubeRequest} from '../support/kube.ts'
import {run} from './run.ts'

const RBAC = '/apis/rbac.authorization.k8s.io/v1'

interface Row {
  verb: string
  resource: string
  namespace: string
  expected: string
  actual: string
  ok: boolean
}

/** resource label of the table ("clusters/status.postgresql.cnpg.io") → SelfSubjectAccessReview attributes. */
function attributes(row: Row): Record<string, string | undefined> {
  const [resourcePart, ...groupParts] = row.resource.split('.')
  const [resource, subresource] = resourcePart.split('/')
  return {verb: row.verb, resource, subresource, group: groupParts.join('.'), namespace: row.namespace === '(cluster)' ? undefined : row.namespace}
}

/**
 * A request as the ServiceAccount. The API server's priority and fairness may throttle service
 * accounts (429) while other test files load it; that is not an authorization answer, so wait.
 */
// `any`: API server JSON (objects, Status, reviews) read field by field by the assertions.
async function asServiceAccount(token: string, method: string, path: string, body?: unknown): Promise<{status: number; body: any}> {
  for (let attempt = 0; ; attempt++) {
    const response = await kubeRequest({token}, method, path, body)
    if (response.status !== 429 || attempt === 10) return response
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

describe('kmcp rbac setup', () => {
  test('creates the ServiceAccount, Roles and bindings; the table matches what the ServiceAccount can really do; a second run changes nothing', async () => {
    const home = await createNamespace('rbac-home')
    const teamA = await createNamespace('rbac-a')
    const teamB = await createNamespace('rbac-b')
    const other = await createNamespace('rbac-other')
    const dir = mkdtempSync(join(tmpdir(), 'kmcp-rbac-'))
    const kubeconfigOut = join(dir, 'sa.kubeconfig')
    const args = ['rbac', 'setup', '--kubeconfig', harness().kubeconfigFor('admin'), '-n', home, '-t', teamA, '-t', teamB, '--yes']
    const first = await run([...args, '--kubeconfig-out', kubeconfigOut, '--json'])
    assert.equal(first.code, 0, first.stderr)
    const report = JSON.parse(first.stdout)
    assert.equal(report.ok, true)
    assert.equal(report.serviceAccount, `system:serviceaccount:${home}:kmcp`)

    const sa = await kubeRequest('admin', 'GET', `/api/v1/namespaces/${home}/serviceaccounts/kmcp`)
    assert.equal(sa.status, 200)
    assert.equal(sa.body.metadata.labels['app.kubernetes.io/managed-by'], 'kmcp')
    for (const ns of [teamA, teamB]) {
      const role = await kubeRequest('admin', 'GET', `${RBAC}/namespaces/${ns}/roles/kmcp`)
      assert.equal(role.status, 200)
      assert.deepEqual(role.body.rules, toPolicyRules(KMCP_RBAC.namespacedRules))
      const binding = await kubeRequest('admin', 'GET', `${RBAC}/namespaces/${ns}/rolebindings/kmcp`)
      assert.deepEqual(binding.body.roleRef, {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'kmcp'})
      assert.deepEqual(binding.body.subjects, [{kind: 'ServiceAccount', name: 'kmcp', namespace: home}])
      for (const [name, clusterRole] of [['kmcp-cnpg-view', 'cnpg-cloudnative-pg-view'], ['kmcp-cnpg-edit', 'cnpg-cloudnative-pg-edit']]) {
        const cnpg = await kubeRequest('admin', 'GET', `${RBAC}/namespaces/${ns}/rolebindings/${name}`)
        assert.equal(cnpg.status, 200, name)
        assert.equal(cnpg.body.roleRef.kind, 'ClusterRole')
        assert.equal(cnpg.body.roleRef.name, clusterRole)
      }
    }
    assert.equal((await kubeRequest('admin', 'GET', `${RBAC}/namespaces/${home}/roles/kmcp`)).status, 404, 'no rights in the home namespace unless targeted')

    // Act as the ServiceAccount with the token of the written kubeconfig.
    assert.equal(statSync(kubeconfigOut).mode & 0o777, 0o600)
    const kubeconfig = YAML.parse(readFileSync(kubeconfigOut, 'utf8'))
    const token = kubeconfig.users[0].user.token as string
    assert.ok(token && !first.stdout.includes(token) && !first.stderr.includes(token), 'the token is only in the file')
    assert.equal(kubeconfig.clusters[0].cluster.server, harness().server)
    const rows = report.verification as Row[]
    assert.ok(rows.length > 50)
    for (const row of rows) {
      const review = await asServiceAccount(token, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: {resourceAttributes: attributes(row)},
      })
      assert.equal(review.status, 201)
      assert.equal(review.body.status.allowed ? 'allowed' : 'denied', row.actual, `${row.verb} ${row.resource} in ${row.namespace}`)
      assert.equal(row.ok, row.actual === row.expected)
    }
    // And real requests, not only reviews.
    assert.equal((await asServiceAccount(token, 'GET', `/api/v1/namespaces/${teamA}/secrets`)).status, 200)
    assert.equal((await asServiceAccount(token, 'POST', `/api/v1/namespaces/${teamB}/secrets`, {metadata: {name: 'probe'}, stringData: {a: 'b'}})).status, 201)
    assert.equal((await asServiceAccount(token, 'GET', `/api/v1/namespaces/${other}/secrets`)).status, 403)
    assert.equal((await asServiceAccount(token, 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${teamA}/clusters`)).status, 200)
    assert.equal((await asServiceAccount(token, 'GET', '/api/v1/nodes')).status, 403)
    assert.equal((await asServiceAccount(token, 'POST', `/api/v1/namespaces/${teamA}/pods`, {metadata: {name: 'p'}, spec: {containers: [{name: 'c', image: 'x'}]}})).status, 403)

    const second = await run(args)
    assert.equal(second.code, 0, second.stderr)
    assert.match(second.stdout, /Nothing to change: everything was already in place/)
    assert.doesNotMatch(second.stdout, /\bcreated\b|\bupdated\b/)
    assert.match(second.stdout, /All \d+ checks passed/)
  })

  test('--dry-run stores nothing; --check reports the missing rights and fails', async () => {
    const home = await createNamespace('rbac-dry')
    const dry = await run(['rbac', 'setup', '--kubeconfig', harness().kubeconfigFor('admin'), '-n', home, '--dry-run'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /would create\s+ServiceAccount/)
    assert.match(dry.stdout, /would create\s+RoleBinding\s+\S+\s+kmcp-cnpg-edit/)
    assert.equal((await kubeRequest('admin', 'GET', `/api/v1/namespaces/${home}/serviceaccounts/kmcp`)).status, 404)
    assert.equal((await kubeRequest('admin', 'GET', `${RBAC}/namespaces/${home}/rolebindings/kmcp-cnpg-view`)).status, 404)

    const check = await run(['rbac', 'setup', '--kubeconfig', harness().kubeconfigFor('admin'), '-n', home, '--check', '--json'])
    assert.equal(check.code, 1)
    const report = JSON.parse(check.stdout)
    assert.equal(report.ok, false)
    assert.ok(report.verification.some((r: Row) => !r.ok && r.verb === 'create' && r.resource === 'clusters.postgresql.cnpg.io'))
    assert.equal(report.changes.length, 0, '--check changes nothing')
  })

  test('--allow-pod-proxy adds get on pods/proxy to the Role; without it the account may not use the pod proxy', async () => {
    const home = await createNamespace('rbac-proxy')
    const without = JSON.parse((await run(['rbac', 'setup', '--kubeconfig', harness().kubeconfigFor('admin'), '-n', home, '--yes', '--json'])).stdout)
    const deniedRow = without.verification.find((r: Row) => r.resource === 'pods/proxy' && r.verb === 'get')
    assert.deepEqual([deniedRow?.expected, deniedRow?.actual, deniedRow?.ok], ['denied', 'denied', true])
    for (const resource of ['pods/log', 'events']) assert.ok(without.verification.some((r: Row) => r.resource === resource && r.expected === 'allowed' && r.ok), `${resource} allowed`)
    const result = await run(['rbac', 'setup', '--kubeconfig', harness().kubeconfigFor('admin'), '-n', home, '--allow-pod-proxy', '--yes', '--json'])
    assert.equal(result.code, 0, result.stderr)
    const report = JSON.parse(result.stdout)
    const row = report.verification.find((r: Row) => r.resource === 'pods/proxy' && r.verb === 'get')
    assert.deepEqual([row?.expected, row?.actual, row?.ok], ['allowed', 'allowed', true])
    const role = await kubeRequest('admin', 'GET', `${RBAC}/namespaces/${home}/roles/kmcp`)
    assert.ok(role.body.rules.some((rule: {resources: string[]; verbs: string[]}) => rule.resources.includes('pods/proxy') && rule.verbs.includes('get')), JSON.stringify(role.body.rules))
  })

  test('--cluster-wide --impersonate: ClusterRoleBindings named after the namespace, and impersonation allowed', async () => {
    const home = await createNamespace('rbac-wide')
    const result = await run(['rbac', 'setup', '--kubeconfig', harness().kubeconfigFor('admin'), '-n', home, '--cluster-wide', '--impersonate', '--yes', '--json'])
    try {
      assert.equal(result.code, 0, result.stderr)
      const report = JSON.parse(result.stdout)
      assert.ok(report.verification.some((r: Row) => r.verb === 'impersonate' && r.expected === 'allowed' && r.ok))
      const binding = await kubeRequest('admin', 'GET', `${RBAC}/clusterrolebindings/${home}-kmcp-cnpg-edit`)
      assert.equal(binding.status, 200)
      const impersonation = await kubeRequest('admin', 'GET', `${RBAC}/clusterroles/${home}-kmcp-impersonate`)
      assert.deepEqual(impersonation.body.rules, toPolicyRules(KMCP_RBAC.impersonationRules))
    } finally {
      for (const path of [`clusterroles/${home}-kmcp`, `clusterrolebindings/${home}-kmcp`, `clusterrolebindings/${home}-kmcp-cnpg-view`, `clusterrolebindings/${home}-kmcp-cnpg-edit`, `clusterroles/${home}-kmcp-impersonate`, `clusterrolebindings/${home}-kmcp-impersonate`]) {
        await kubeRequest('admin', 'DELETE', `${RBAC}/${path}`)
      }
    }
  })

  test('bad input: unknown target namespace, a user without rights, no confirmation without a terminal', async () => {
    const home = await createNamespace('rbac-bad')
    const unknown = await run(['rbac', 'setup', '--kubeconfig', harness().kubeconfigFor('admin'), '-n', home, '-t', 'no-such-namespace-y', '--yes'])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /Namespace "no-such-namespace-y" does not exist/)
    assert.match(unknown.stderr, /Nothing was changed before the failure/)
    assert.equal((await kubeRequest('admin', 'GET', `/api/v1/namespaces/${home}/serviceaccounts/kmcp`)).status, 404)

    const alice = await run(['rbac', 'setup', '--kubeconfig', harness().kubeconfigFor('alice'), '-n', home, '--yes'])
    assert.equal(alice.code, 1)
    assert.match(alice.stderr, /403 Forbidden while reading ServiceAccount/)

    const unconfirmed = await run(['rbac', 'setup', '--kubeconfig', harness().kubeconfigFor('admin'), '-n', home])
    assert.equal(unconfirmed.code, 2)
    assert.match(unconfirmed.stderr, /pass --yes/)
    assert.equal((await kubeRequest('admin', 'GET', `/api/v1/namespaces/${home}/serviceaccounts/kmcp`)).status, 404)
  })
})
