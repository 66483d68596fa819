// The chart for several replicas (issue 16): replica count and PodDisruptionBudget by default when
// Redis is on, no session affinity, the HPA, the bundled Redis's append-only file on a
// PersistentVolumeClaim, Sentinel/Cluster URLs, and --stateless.
import {after, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import YAML from 'yaml'
import type {KubeObject} from '../support/kube.ts'
import {helm, CHART_DIR, renderChart} from './helpers.ts'
import {OIDC_CONFIG_MOUNT} from '../../src/lib/setup/secret-names.ts'

const find = (objects: KubeObject[], kind: string, name?: string) => objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name))
const one = (objects: KubeObject[], kind: string, name: string) => {
  const found = find(objects, kind, name)
  assert.equal(found.length, 1, `${kind}/${name} rendered once`)
  return found[0]
}
const kmcp = (objects: KubeObject[]) => {
  const deployment = one(objects, 'Deployment', 'r-kmcp')
  return {deployment, container: deployment.spec.template.spec.containers.find((c: {name: string}) => c.name === 'kmcp')}
}
const redisContainer = (objects: KubeObject[]) => one(objects, 'Deployment', 'r-kmcp-redis').spec.template.spec.containers[0]
const envOf = (container: {env: Array<{name: string; value?: string}>}) => Object.fromEntries(container.env.map((e) => [e.name, e.value]))
const render = (...args: string[]) => renderChart('r', 'ns', ...args)
const refused = (pattern: RegExp, ...args: string[]) => {
  const result = helm('template', 'r', CHART_DIR, '--namespace', 'ns', ...args)
  assert.notEqual(result.code, 0, `helm template ${args.join(' ')} should fail`)
  assert.match(result.stderr, pattern)
}

const dir = mkdtempSync(join(tmpdir(), 'kmcp-chart-replicas-'))
after(() => rmSync(dir, {recursive: true, force: true}))
function valuesFile(values: Record<string, unknown>): string {
  const file = join(dir, `values-${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, YAML.stringify(values))
  return file
}

describe('replicas with the default values (bundled Redis)', () => {
  const objects = render()

  test('two replicas, a PodDisruptionBudget keeping one, selecting exactly the server pods', () => {
    const {deployment} = kmcp(objects)
    assert.equal(deployment.spec.replicas, 2)
    const pdb = one(objects, 'PodDisruptionBudget', 'r-kmcp')
    assert.equal(pdb.spec.minAvailable, 1)
    assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels)
    assert.equal(pdb.spec.selector.matchLabels['app.kubernetes.io/component'], 'server', 'never the Redis pod')
  })

  test('no session affinity: the Service spreads requests over all replicas', () => {
    const service = one(objects, 'Service', 'r-kmcp')
    assert.ok(service.spec.sessionAffinity === undefined || service.spec.sessionAffinity === 'None', String(service.spec.sessionAffinity))
  })

  test('kmcp gets the shared Redis as REDIS_URL and the password file, also read by oidc.yaml', () => {
    const {container} = kmcp(objects)
    const env = envOf(container)
    assert.equal(env.REDIS_URL, 'redis://r-kmcp-redis.ns.svc:6379/0')
    assert.equal(env.REDIS_PASSWORD_FILE, '/etc/mcp/secrets/redis/password')
    const config = YAML.parse(one(objects, 'ConfigMap', 'r-kmcp-oidc').data[OIDC_CONFIG_MOUNT.file])
    assert.equal(config.redis.url, env.REDIS_URL)
  })

  test('the bundled Redis writes an append-only file to a 1Gi PersistentVolumeClaim kept on uninstall', () => {
    const args: string[] = redisContainer(objects).args
    const arg = (name: string) => args[args.indexOf(name) + 1]
    assert.equal(arg('--appendonly'), 'yes')
    assert.equal(arg('--appendfsync'), 'everysec')
    assert.equal(arg('--dir'), '/data')
    const pvc = one(objects, 'PersistentVolumeClaim', 'r-kmcp-redis-data')
    assert.equal(pvc.spec.resources.requests.storage, '1Gi')
    assert.deepEqual(pvc.spec.accessModes, ['ReadWriteOnce'])
    assert.equal(pvc.spec.storageClassName, undefined, 'the cluster default StorageClass')
    assert.equal(pvc.metadata.annotations['helm.sh/resource-policy'], 'keep')
    const redis = one(objects, 'Deployment', 'r-kmcp-redis')
    assert.equal(redis.spec.strategy.type, 'Recreate', 'a ReadWriteOnce volume is never mounted by two Redis pods')
    const data = redis.spec.template.spec.volumes.find((v: {name: string}) => v.name === 'data')
    assert.deepEqual(data.persistentVolumeClaim, {claimName: 'r-kmcp-redis-data'})
    assert.ok(redisContainer(objects).volumeMounts.some((m: {name: string; mountPath: string}) => m.name === 'data' && m.mountPath === '/data'))
  })
})

describe('Redis persistence values', () => {
  test('size and StorageClass; "-" means no StorageClass', () => {
    assert.equal(one(render('--set', 'redis.persistence.size=5Gi', '--set', 'redis.persistence.storageClass=fast'), 'PersistentVolumeClaim', 'r-kmcp-redis-data').spec.storageClassName, 'fast')
    const none = one(render('--set', 'redis.persistence.storageClass=-', '--set', 'redis.persistence.size=5Gi'), 'PersistentVolumeClaim', 'r-kmcp-redis-data')
    assert.equal(none.spec.storageClassName, '')
    assert.equal(none.spec.resources.requests.storage, '5Gi')
  })

  test('an existing claim is used and none is made', () => {
    const objects = render('--set', 'redis.persistence.existingClaim=my-redis-data')
    assert.equal(find(objects, 'PersistentVolumeClaim').length, 0)
    const data = one(objects, 'Deployment', 'r-kmcp-redis').spec.template.spec.volumes.find((v: {name: string}) => v.name === 'data')
    assert.equal(data.persistentVolumeClaim.claimName, 'my-redis-data')
  })

  test('off: memory only, no claim', () => {
    const objects = render('--set', 'redis.persistence.enabled=false')
    assert.equal(find(objects, 'PersistentVolumeClaim').length, 0)
    const args: string[] = redisContainer(objects).args
    assert.equal(args[args.indexOf('--appendonly') + 1], 'no')
    assert.ok(one(objects, 'Deployment', 'r-kmcp-redis').spec.template.spec.volumes[0].emptyDir)
  })

  test('a bad size is refused by the schema', () => {
    refused(/persistence\/size/, '--set', 'redis.persistence.size=lots')
  })
})

describe('without Redis', () => {
  const noRedis = ['--set', 'redis.enabled=false', '--set', 'oidc.enabled=false']

  test('one replica, no PodDisruptionBudget, no REDIS_URL', () => {
    const objects = render(...noRedis)
    assert.equal(kmcp(objects).deployment.spec.replicas, 1)
    assert.equal(find(objects, 'PodDisruptionBudget').length, 0)
    assert.equal(envOf(kmcp(objects).container).REDIS_URL, undefined)
  })

  test('more replicas or the HPA are refused, naming the fixes', () => {
    refused(/more than one kmcp replica .* needs Redis.*redis.enabled=true or redis.url, or mcp.stateless=true, or replicaCount=1/, ...noRedis, '--set', 'replicaCount=3')
    refused(/more than one kmcp replica/, ...noRedis, '--set', 'autoscaling.enabled=true')
  })

  test('mcp.stateless: kmcp serve --stateless, two replicas and a PodDisruptionBudget', () => {
    const objects = render(...noRedis, '--set', 'mcp.stateless=true')
    const {deployment, container} = kmcp(objects)
    assert.ok(container.args.includes('--stateless'))
    assert.equal(deployment.spec.replicas, 2)
    assert.equal(find(objects, 'PodDisruptionBudget').length, 1)
  })

  test('an explicit replicaCount wins; one replica gets no PodDisruptionBudget (it would block every drain)', () => {
    const objects = render('--set', 'replicaCount=1')
    assert.equal(kmcp(objects).deployment.spec.replicas, 1)
    assert.equal(find(objects, 'PodDisruptionBudget').length, 0)
    assert.equal(find(render('--set', 'podDisruptionBudget.enabled=false'), 'PodDisruptionBudget').length, 0)
  })
})

describe('the HorizontalPodAutoscaler works out of the box', () => {
  test('it scales the Deployment, which leaves the count to it; CPU requests are set so utilization can be computed', () => {
    const objects = render('--set', 'autoscaling.enabled=true')
    const hpa = one(objects, 'HorizontalPodAutoscaler', 'r-kmcp')
    assert.deepEqual(hpa.spec.scaleTargetRef, {apiVersion: 'apps/v1', kind: 'Deployment', name: 'r-kmcp'})
    assert.equal(hpa.spec.minReplicas, 2)
    const {deployment, container} = kmcp(objects)
    assert.equal(deployment.spec.replicas, undefined)
    assert.ok(container.resources.requests.cpu, 'an HPA on CPU utilization needs a CPU request')
    assert.equal(find(objects, 'PodDisruptionBudget').length, 1)
  })
})

describe('redis.url naming a Sentinel or a Cluster', () => {
  test('reaches oidc.yaml and REDIS_URL as written', () => {
    for (const url of ['redis+sentinel://sentinel-1:26379,sentinel-2:26379/mymaster/0', 'rediss+cluster://node-1:6379,node-2:6379']) {
      const objects = render('--values', valuesFile({redis: {enabled: false, url, auth: {existingSecret: 'redis-pw'}}}))
      assert.equal(YAML.parse(one(objects, 'ConfigMap', 'r-kmcp-oidc').data[OIDC_CONFIG_MOUNT.file]).redis.url, url)
      assert.equal(envOf(kmcp(objects).container).REDIS_URL, url)
      assert.equal(kmcp(objects).deployment.spec.replicas, 2)
    }
  })

  test('other schemes and credentials in the URL are refused', () => {
    refused(/redis\/url/, '--values', valuesFile({redis: {enabled: false, url: 'memcached://cache:11211'}}))
    refused(/must not hold credentials/, '--values', valuesFile({redis: {enabled: false, url: 'redis+sentinel://:pw@s1:26379/mymaster'}}))
  })
})
