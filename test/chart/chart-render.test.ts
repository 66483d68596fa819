// helm lint and helm template on the real chart, the rendered objects checked against the
// modules they must agree with, and every rendered object sent to the real API server with a
// server-side dry run (dryRun=All): schema validation, defaulting, admission and RBAC checks.
import {before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createNamespace, kubeRequest, resourcePath, type KubeObject} from '../support/kube.ts'
import {KMCP_RBAC, rbacObjectNames, toPolicyRules} from '../../src/lib/setup/rbac-rules.ts'
import {KEYS_SECRET_KEYS, OIDC_CLIENT_SECRET_KEYS, OIDC_CONFIG_MOUNT, SECRET_MOUNT_PATHS, keysSecretName, oidcClientSecretName} from '../../src/lib/setup/secret-names.ts'
import {ALL_FEATURES_VALUES, CHART_DIR, helm, renderChart} from './helpers.ts'
import YAML from 'yaml'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {helmValuesYaml} from '../../src/lib/setup/auth0-outputs.ts'
import {parseBundle} from '../../src/lib/server/prompts/bundle.ts'

const find = (objects: KubeObject[], kind: string, name?: string, namespace?: string) =>
  objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name) && (namespace === undefined || o.metadata.namespace === namespace))

function oidcYaml(objects: KubeObject[], fullname: string): Record<string, any> {
  const [configMap] = find(objects, 'ConfigMap', `${fullname}-oidc`)
  assert.ok(configMap, `ConfigMap ${fullname}-oidc rendered`)
  return YAML.parse(configMap.data[OIDC_CONFIG_MOUNT.file])
}

function kmcpContainer(objects: KubeObject[], fullname: string) {
  const [deployment] = find(objects, 'Deployment', fullname)
  assert.ok(deployment, `Deployment ${fullname}`)
  return {deployment, pod: deployment.spec.template.spec, container: deployment.spec.template.spec.containers.find((c: {name: string}) => c.name === 'kmcp')}
}

async function serverDryRunAll(objects: KubeObject[]): Promise<string[]> {
  const rejected: string[] = []
  for (const object of objects) {
    const path = await resourcePath(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name)
    const response = await kubeRequest('admin', 'PATCH', path, object, {contentType: 'apply', fieldManager: 'kmcp-chart-test', force: true, dryRun: true})
    if (response.status !== 200 && response.status !== 201) rejected.push(`${object.kind} ${object.metadata.name}: ${response.status} ${response.body?.message ?? response.text}`)
  }
  return rejected
}

describe('helm lint', () => {
  for (const [label, extra] of [
    ['default values', []],
    ['every optional feature on', ['--values', ALL_FEATURES_VALUES]],
  ] as const) {
    test(`passes with ${label}, without warnings`, () => {
      const result = helm('lint', CHART_DIR, '--strict', ...extra)
      assert.equal(result.code, 0, result.stdout + result.stderr)
      assert.doesNotMatch(result.stdout, /\[(WARNING|ERROR)\]/, result.stdout)
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/)
    })
  }
})

describe('helm template with the default values', () => {
  const objects = renderChart('r1', 'ns1')
  const fullname = 'r1-kmcp'

  test('renders the server, its Service, ServiceAccount, RBAC, config and the bundled Redis, and nothing optional', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()
    assert.deepEqual(kinds, [
      'ConfigMap/r1-kmcp-oidc',
      'Deployment/r1-kmcp',
      'Deployment/r1-kmcp-redis',
      'NetworkPolicy/r1-kmcp-redis',
      'PersistentVolumeClaim/r1-kmcp-redis-data',
      'PodDisruptionBudget/r1-kmcp',
      'Role/r1-kmcp',
      'RoleBinding/r1-kmcp',
      'RoleBinding/r1-kmcp-cnpg-edit',
      'RoleBinding/r1-kmcp-cnpg-view',
      'Secret/r1-kmcp-redis-auth',
      'Service/r1-kmcp',
      'Service/r1-kmcp-redis',
      'ServiceAccount/r1-kmcp',
    ])
  })

  test('the Role holds exactly the rules of src/lib/setup/rbac-rules.ts, bound with its object names', () => {
    const names = rbacObjectNames(fullname, 'ns1')
    const [role] = find(objects, 'Role', names.role, 'ns1')
    assert.deepEqual(role.rules, toPolicyRules(KMCP_RBAC.namespacedRules))
    const bindings = find(objects, 'RoleBinding')
    assert.deepEqual(bindings.map((b) => b.metadata.name).sort(), [names.roleBinding, ...KMCP_RBAC.cnpgClusterRoles.map((r) => names.cnpgRoleBinding(r.name))].sort())
    for (const clusterRole of KMCP_RBAC.cnpgClusterRoles) {
      const [binding] = find(objects, 'RoleBinding', names.cnpgRoleBinding(clusterRole.name))
      assert.deepEqual(binding.roleRef, {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole.name})
    }
    for (const binding of bindings) assert.deepEqual(binding.subjects, [{kind: 'ServiceAccount', name: fullname, namespace: 'ns1'}])
  })

  test('mounts the Secrets of `kmcp secrets create` where secret-names.ts says, and oidc.yaml names those files', () => {
    const {pod, container} = kmcpContainer(objects, fullname)
    assert.deepEqual(container.volumeMounts.find((m: {name: string}) => m.name === 'config'), {name: 'config', mountPath: OIDC_CONFIG_MOUNT.dir, readOnly: true})
    const sources = pod.volumes.find((v: {name: string}) => v.name === 'config').projected.sources
    const items = sources.flatMap((s: any) => (s.secret ?? s.configMap).items.map((i: {key: string; path: string}) => ({from: (s.secret ?? s.configMap).name, ...i})))
    const rel = (path: string) => path.slice(OIDC_CONFIG_MOUNT.dir.length + 1)
    assert.deepEqual(items, [
      {from: `${fullname}-oidc`, key: OIDC_CONFIG_MOUNT.file, path: OIDC_CONFIG_MOUNT.file},
      {from: oidcClientSecretName('r1'), key: OIDC_CLIENT_SECRET_KEYS.clientSecret, path: rel(`${SECRET_MOUNT_PATHS.oidcClient}/${OIDC_CLIENT_SECRET_KEYS.clientSecret}`)},
      {from: keysSecretName('r1'), key: KEYS_SECRET_KEYS.jwtSigningKey, path: rel(`${SECRET_MOUNT_PATHS.keys}/${KEYS_SECRET_KEYS.jwtSigningKey}`)},
      {from: keysSecretName('r1'), key: KEYS_SECRET_KEYS.storageEncryptionKey, path: rel(`${SECRET_MOUNT_PATHS.keys}/${KEYS_SECRET_KEYS.storageEncryptionKey}`)},
      {from: keysSecretName('r1'), key: KEYS_SECRET_KEYS.previousStorageEncryptionKeys, path: rel(`${SECRET_MOUNT_PATHS.keys}/${KEYS_SECRET_KEYS.previousStorageEncryptionKeys}`)},
      {from: `${fullname}-redis-auth`, key: 'redis-password', path: rel('/etc/mcp/secrets/redis/password')},
    ])
    const config = oidcYaml(objects, fullname)
    assert.equal(config.client_secret_file, `${SECRET_MOUNT_PATHS.oidcClient}/${OIDC_CLIENT_SECRET_KEYS.clientSecret}`)
    assert.equal(config.jwt_signing_key_file, `${SECRET_MOUNT_PATHS.keys}/${KEYS_SECRET_KEYS.jwtSigningKey}`)
    assert.equal(config.storage_encryption_key_file, `${SECRET_MOUNT_PATHS.keys}/${KEYS_SECRET_KEYS.storageEncryptionKey}`)
    assert.equal(config.redis.url, 'redis://r1-kmcp-redis.ns1.svc:6379/0')
  })

  test('runs `kmcp serve` over HTTP on 4204 as a non-root user with a read-only root file system, probed on /healthz and /readyz', () => {
    const {pod, container} = kmcpContainer(objects, fullname)
    assert.deepEqual(container.command, ['kmcp'])
    assert.deepEqual(container.args, ['serve', '--transport=http', '--host=0.0.0.0', '--port=4204', '--path=/mcp', `--allowed-hosts=${fullname},${fullname}.ns1,${fullname}.ns1.svc,${fullname}.ns1.svc.cluster.local`])
    assert.deepEqual(container.ports, [{name: 'http', containerPort: 4204, protocol: 'TCP'}])
    assert.equal(container.livenessProbe.httpGet.path, '/healthz')
    assert.equal(container.readinessProbe.httpGet.path, '/readyz')
    assert.equal(container.securityContext.readOnlyRootFilesystem, true)
    assert.equal(container.securityContext.allowPrivilegeEscalation, false)
    assert.equal(pod.securityContext.runAsNonRoot, true)
    assert.equal(pod.securityContext.runAsUser, 1000)
    assert.equal(pod.serviceAccountName, fullname)
    assert.match(container.image, /^kmcp:\d+\.\d+\.\d+/)
  })
})

describe('security defaults of the chart (issue #14)', () => {
  const objects = renderChart('r3', 'ns3')
  const fullname = 'r3-kmcp'

  test('the bundled Redis never runs without a password: one is generated, Redis requires it, kmcp reads it from a file', () => {
    const [secret] = find(objects, 'Secret', `${fullname}-redis-auth`)
    const password = Buffer.from(secret.data['redis-password'], 'base64').toString('utf8')
    assert.match(password, /^[A-Za-z0-9]{40}$/)
    assert.equal(secret.metadata.annotations['helm.sh/resource-policy'], 'keep', 'kept on uninstall/upgrade, like the keys of kmcp secrets create')
    const [redis] = find(objects, 'Deployment', `${fullname}-redis`)
    const container = redis.spec.template.spec.containers[0]
    assert.ok(container.args.includes('--requirepass'))
    assert.equal(container.env.find((e: {name: string}) => e.name === 'REDIS_PASSWORD').valueFrom.secretKeyRef.name, `${fullname}-redis-auth`)
    assert.equal(oidcYaml(objects, fullname).redis.password_file, '/etc/mcp/secrets/redis/password')
  })

  test('a NetworkPolicy for kmcp is off by default, and limits ingress to the given peers when on', () => {
    assert.equal(find(objects, 'NetworkPolicy', fullname).length, 0)
    const on = renderChart('r4', 'ns4', '--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.name=ingress-nginx')
    const [policy] = find(on, 'NetworkPolicy', 'r4-kmcp')
    assert.deepEqual(policy.spec.policyTypes, ['Ingress'])
    assert.deepEqual(policy.spec.ingress[0].from, [{namespaceSelector: {matchLabels: {name: 'ingress-nginx'}}}])
    assert.deepEqual(policy.spec.ingress[0].ports, [{protocol: 'TCP', port: 4204}])
  })

  test('the allow-list of who may sign in reaches oidc.yaml', () => {
    const rendered = renderChart('r5', 'ns5', '--set', 'oidc.allowedUsers[0]=oidc:auth0|1', '--set', 'oidc.allowedEmailDomains[0]=example.com')
    const config = oidcYaml(rendered, 'r5-kmcp')
    assert.deepEqual(config.allowed_users, ['oidc:auth0|1'])
    assert.deepEqual(config.allowed_email_domains, ['example.com'])
  })
})

describe('helm template with every optional feature on', () => {
  const objects = renderChart('r2', 'ns2', '--values', ALL_FEATURES_VALUES)
  const fullname = 'r2-kmcp'

  test('adds Ingress, HPA, prompts, impersonation, target-namespace RBAC and the loopback test sidecar', () => {
    assert.equal(find(objects, 'Ingress', fullname).length, 1)
    const [hpa] = find(objects, 'HorizontalPodAutoscaler', fullname)
    assert.deepEqual(hpa.spec.metrics.map((m: any) => m.resource.name), ['cpu', 'memory'])
    assert.equal(find(objects, 'ConfigMap', `${fullname}-prompts`).length, 1)
    const names = rbacObjectNames(fullname, 'ns2')
    const [impersonation] = find(objects, 'ClusterRole', names.impersonationClusterRole)
    assert.deepEqual(impersonation.rules, toPolicyRules(KMCP_RBAC.impersonationRules))
    assert.equal(find(objects, 'ClusterRoleBinding', names.impersonationClusterRoleBinding).length, 1)
    assert.deepEqual(find(objects, 'Role').map((r) => r.metadata.namespace).sort(), ['ns2', 'team-a', 'team-b'])
    const {deployment, container, pod} = kmcpContainer(objects, fullname)
    assert.equal(deployment.spec.replicas, undefined, 'the HPA owns the replica count')
    assert.ok(container.args.includes('--impersonate'))
    const sidecar = pod.containers.find((c: {name: string}) => c.name === 'kmcp-test')
    assert.ok(sidecar.args.includes('--host=127.0.0.1'), 'the unauthenticated test server listens on loopback only')
    assert.equal(sidecar.ports, undefined, 'and is not exposed')
    const config = oidcYaml(objects, fullname)
    assert.equal(config.public_url, 'https://kmcp.example.com', 'public_url defaults to the ingress host')
    assert.equal(config.redis.password_file, '/etc/mcp/secrets/redis/password')
    assert.equal(config.auth_type, 'oidc')
    assert.deepEqual(config.trusted_proxies, ['10.42.0.0/16'], 'behind an ingress, rate limits need the proxy to be trusted')
    assert.deepEqual(config.rate_limits, {token_per_ip: 120, register_per_ip: 0})
  })

  test("the prompts ConfigMap is a bundle kmcp's own loader accepts", () => {
    const [prompts] = find(objects, 'ConfigMap', `${fullname}-prompts`)
    const bundle = parseBundle('prompts.yaml', Buffer.from(prompts.data['prompts.yaml']), [])
    assert.deepEqual(bundle.prompts.map((p) => p.id), ['check-backups'])
  })

  test('cluster-wide RBAC uses a ClusterRole with the same rules and the module\'s names', () => {
    const clusterWide = renderChart('r3', 'ns3', '--set', 'rbac.clusterWide=true')
    const names = rbacObjectNames('r3-kmcp', 'ns3')
    const [clusterRole] = find(clusterWide, 'ClusterRole', names.clusterRole)
    assert.deepEqual(clusterRole.rules, toPolicyRules(KMCP_RBAC.namespacedRules))
    assert.deepEqual(find(clusterWide, 'ClusterRoleBinding').map((b) => b.metadata.name).sort(), [names.clusterRoleBinding, ...KMCP_RBAC.cnpgClusterRoles.map((r) => names.cnpgClusterRoleBinding(r.name))].sort())
    assert.equal(find(clusterWide, 'Role').length, 0)
  })
})

describe('values written by other kmcp commands', () => {
  test('the Helm values file of `kmcp setup auth0` renders, with its settings in oidc.yaml', () => {
    const result = {publicUrl: 'https://kmcp.example.com', issuer: 'https://tenant.eu.auth0.com/', audience: 'https://kmcp.example.com/mcp', serverClient: {clientId: 'abc123'}, domain: 'tenant.eu.auth0.com'}
    const dir = mkdtempSync(join(tmpdir(), 'kmcp-values-'))
    const file = join(dir, 'values.yaml')
    writeFileSync(file, helmValuesYaml(result as unknown as Parameters<typeof helmValuesYaml>[0], 'prod'))
    const objects = renderChart('prod', 'ns4', '--values', file)
    rmSync(dir, {recursive: true, force: true})
    const config = oidcYaml(objects, 'prod-kmcp')
    assert.equal(config.auth_type, 'auth0')
    assert.equal(config.client_id, 'abc123')
    assert.equal(config.public_url, 'https://kmcp.example.com')
    assert.equal(find(objects, 'Ingress', 'prod-kmcp').length, 1)
  })
})

describe('bad values fail at render time with a message', () => {
  test('values.schema.json rejects service.port: "http"', () => {
    const result = helm('template', 'r', CHART_DIR, '--set', 'service.port=http')
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, /service\/port.*got string, want integer/)
  })
  test('a misspelt key is refused', () => {
    const result = helm('template', 'r', CHART_DIR, '--set', 'oidc.issure=https://x')
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, /additional properties 'issure' not allowed/)
  })
  test('authentication without Redis is refused, naming the values to set', () => {
    const result = helm('template', 'r', CHART_DIR, '--set', 'redis.enabled=false')
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, /keeps registered clients and tokens in Redis: set redis.enabled=true .* or redis.url/)
  })
  test('a Redis URL with credentials is refused', () => {
    const result = helm('template', 'r', CHART_DIR, '--set', 'redis.enabled=false', '--set', 'redis.url=redis://:pw@redis:6379/0')
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, /must not hold credentials/)
  })
})

describe('server-side dry run of the rendered manifests on the real API server', () => {
  let namespace: string
  let teams: string[]
  before(async () => {
    namespace = await createNamespace('chart-dry-run')
    teams = [await createNamespace('chart-team'), await createNamespace('chart-team')]
  })

  test('with the default values: every object accepted', async () => {
    assert.deepEqual(await serverDryRunAll(renderChart('dry', namespace)), [])
  })

  test('with every optional feature on: every object accepted', async () => {
    const objects = renderChart('dry', namespace, '--values', ALL_FEATURES_VALUES, '--set', `rbac.targetNamespaces={${teams.join(',')}}`)
    assert.ok(objects.some((o) => o.kind === 'Ingress') && objects.some((o) => o.kind === 'HorizontalPodAutoscaler'))
    assert.deepEqual(await serverDryRunAll(objects), [])
  })

  test('cluster-wide RBAC: every object accepted', async () => {
    assert.deepEqual(await serverDryRunAll(renderChart('dry', namespace, '--set', 'rbac.clusterWide=true')), [])
  })

  test('the dry run really validates: a Deployment with a broken port is rejected', async () => {
    const objects = renderChart('dry', namespace)
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'dry-kmcp')!
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 70000
    const rejected = await serverDryRunAll([deployment])
    assert.equal(rejected.length, 1)
    assert.match(rejected[0], /422.*containerPort/)
  })
})

describe('helm template with the safety values (docs/safety.md)', () => {
  test('server modes reach kmcp serve as its KMCP_* variables, scope_groups reach oidc.yaml; defaults set none', () => {
    const values = join(mkdtempSync(join(tmpdir(), 'kmcp-safety-values-')), 'values.yaml')
    writeFileSync(values, YAML.stringify({safety: {readOnly: true, disableDestructive: true, toolsets: ['cnpg', 'postgres'], enableTools: ['list_*', 'get_*'], disableTools: ['get_connection_info'], namespaces: ['payments', 'orders'], scopeGroups: {dba: ['cnpg:admin'], '*': ['cnpg:read']}}}))
    const objects = renderChart('safe', 'ns5', '--values', values)
    const env = Object.fromEntries((kmcpContainer(objects, 'safe-kmcp').container.env as Array<{name: string; value?: string}>).map((e) => [e.name, e.value]))
    assert.deepEqual(
      {read: env.KMCP_READ_ONLY, destructive: env.KMCP_DISABLE_DESTRUCTIVE, toolsets: env.KMCP_TOOLSETS, enable: env.KMCP_ENABLE_TOOLS, disable: env.KMCP_DISABLE_TOOLS, namespaces: env.KMCP_NAMESPACES},
      {read: 'true', destructive: 'true', toolsets: 'cnpg,postgres', enable: 'list_*,get_*', disable: 'get_connection_info', namespaces: 'payments,orders'},
    )
    assert.deepEqual(oidcYaml(objects, 'safe-kmcp').scope_groups, {dba: ['cnpg:admin'], '*': ['cnpg:read']})
    const defaults = renderChart('plain', 'ns6')
    const names = (kmcpContainer(defaults, 'plain-kmcp').container.env as Array<{name: string}>).map((e) => e.name)
    assert.deepEqual(names.filter((n) => /^KMCP_(READ_ONLY|DISABLE_|TOOLSETS|ENABLE_TOOLS|NAMESPACES)/.test(n)), [])
    assert.equal(oidcYaml(defaults, 'plain-kmcp').scope_groups, undefined)
    const bad = helm('template', 'x', CHART_DIR, '--set', 'safety.toolsets={nosuch}')
    assert.notEqual(bad.code, 0, 'the schema refuses an unknown toolset')
  })
})
