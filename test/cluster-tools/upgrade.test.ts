// upgrade_postgres_cluster and get_cluster_upgrade_status through a real MCP client and a real
// API server; the operator's part (status.pgDataImageInfo, the major-upgrade job pod) is written by hand.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createNamespace, createObject, harness, kubeRequest} from '../support/kube.ts'
import {makeHealthyCluster, setClusterStatus} from '../support/operator.ts'
import {connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {cnpg, fails, getJson, ok, waitForCnpgStorage, yamlBlock} from './helpers.ts'

const PG16 = 'ghcr.io/cloudnative-pg/postgresql:16.4'

describe('PostgreSQL upgrade tools against the real API server', () => {
  let ns: string
  let admin: StdioSession

  before(async () => {
    ns = await createNamespace('ct-upgrade')
    await waitForCnpgStorage(ns, ['clusters', 'imagecatalogs'])
    admin = await connectStdio({kubeconfig: harness().kubeconfigFor('admin')})
    await makeHealthyCluster(ns, 'pg16', {instances: 2, imageName: PG16, status: {pgDataImageInfo: {image: PG16, majorVersion: 16}}})
  })

  after(async () => {
    await admin?.close()
  })

  test('dry run names the current and target versions; a major upgrade says what it does; nothing stored', async () => {
    const result = await ok(admin, 'upgrade_postgres_cluster', {name: 'pg16', namespace: ns, postgres_version: '17', dry_run: true})
    const text = textOf(result)
    assert.match(text, /MAJOR upgrade of cluster .*\/pg16 from PostgreSQL 16 \(ghcr\.io\/cloudnative-pg\/postgresql:16\.4\) to PostgreSQL 17 \(ghcr\.io\/cloudnative-pg\/postgresql:17\)/)
    assert.match(text, /pg_upgrade/)
    assert.equal(yamlBlock(text).spec.imageName, 'ghcr.io/cloudnative-pg/postgresql:17')
    assert.equal((await getJson(cnpg(ns, 'clusters', 'pg16'))).spec.imageName, PG16)
  })

  test('refusals: a downgrade, two targets at once, a catalog major on a cluster without a catalog', async () => {
    await fails(admin, 'upgrade_postgres_cluster', {name: 'pg16', namespace: ns, postgres_version: '15'}, /cannot be downgraded: .* runs PostgreSQL 16 .* is PostgreSQL 15/)
    await fails(admin, 'upgrade_postgres_cluster', {name: 'pg16', namespace: ns, postgres_version: '17', image: 'x/postgresql:17'}, /exactly one of image, postgres_version or catalog_major/)
    await fails(admin, 'upgrade_postgres_cluster', {name: 'pg16', namespace: ns, catalog_major: 17}, /does not use an image catalog/)
  })

  test('a minor update needs confirmation, then changes spec.imageName', async () => {
    await fails(admin, 'upgrade_postgres_cluster', {name: 'pg16', namespace: ns, image: 'ghcr.io/cloudnative-pg/postgresql:16.6'}, /^REFUSED: upgrade_postgres_cluster did not run[\s\S]*Minor update .* rolling update[\s\S]*"confirm":true/)
    assert.equal((await getJson(cnpg(ns, 'clusters', 'pg16'))).spec.imageName, PG16)
    const done = textOf(await ok(admin, 'upgrade_postgres_cluster', {name: 'pg16', namespace: ns, image: 'ghcr.io/cloudnative-pg/postgresql:16.6', confirm: true}))
    assert.match(done, /Successfully started the minor update/)
    assert.equal((await getJson(cnpg(ns, 'clusters', 'pg16'))).spec.imageName, 'ghcr.io/cloudnative-pg/postgresql:16.6')
  })

  test('image catalog: the major must be in the catalog; the catalog reference gets the new major', async () => {
    const catalog = await kubeRequest('admin', 'POST', `/apis/postgresql.cnpg.io/v1/namespaces/${ns}/imagecatalogs`, {
      apiVersion: 'postgresql.cnpg.io/v1', kind: 'ImageCatalog', metadata: {name: 'pg-catalog'},
      spec: {images: [{major: 16, image: PG16}, {major: 17, image: 'ghcr.io/cloudnative-pg/postgresql:17.2'}]},
    })
    assert.equal(catalog.status, 201, catalog.text)
    await makeHealthyCluster(ns, 'cat', {instances: 1, spec: {imageCatalogRef: {apiGroup: 'postgresql.cnpg.io', kind: 'ImageCatalog', name: 'pg-catalog', major: 16}}, status: {image: PG16, pgDataImageInfo: {image: PG16, majorVersion: 16}}})
    await fails(admin, 'upgrade_postgres_cluster', {name: 'cat', namespace: ns, catalog_major: 18}, /ImageCatalog pg-catalog has no image for PostgreSQL 18 \(it has: 16, 17\)/)
    const preview = textOf(await ok(admin, 'upgrade_postgres_cluster', {name: 'cat', namespace: ns, catalog_major: 17, dry_run: true}))
    assert.match(preview, /to PostgreSQL 17 \(ghcr\.io\/cloudnative-pg\/postgresql:17\.2\)/)
    await ok(admin, 'upgrade_postgres_cluster', {name: 'cat', namespace: ns, catalog_major: 17, confirm: true})
    assert.equal((await getJson(cnpg(ns, 'clusters', 'cat'))).spec.imageCatalogRef.major, 17)
  })

  test('get_cluster_upgrade_status: a major upgrade in progress with its job pod', async () => {
    const idle = textOf(await ok(admin, 'get_cluster_upgrade_status', {name: 'pg16', namespace: ns}))
    assert.match(idle, /Running: PostgreSQL 16 \(ghcr\.io\/cloudnative-pg\/postgresql:16\.4\)/)
    const stored = await getJson(cnpg(ns, 'clusters', 'cat'))
    await setClusterStatus(ns, 'cat', {...stored.status, phase: 'Upgrading Postgres major version', targetPgDataImageInfo: {image: 'ghcr.io/cloudnative-pg/postgresql:17.2', majorVersion: 17}})
    await createObject({apiVersion: 'v1', kind: 'Pod', metadata: {name: 'cat-1-major-upgrade-x7k2p', namespace: ns, labels: {'cnpg.io/cluster': 'cat', 'cnpg.io/jobRole': 'major-upgrade'}}, spec: {containers: [{name: 'postgres', image: 'ghcr.io/cloudnative-pg/postgresql:17.2'}]}})
    const result = await ok(admin, 'get_cluster_upgrade_status', {name: 'cat', namespace: ns})
    const text = textOf(result)
    assert.match(text, /Phase: Upgrading Postgres major version/)
    assert.match(text, /Major upgrade in progress to PostgreSQL 17 \(ghcr\.io\/cloudnative-pg\/postgresql:17\.2\)/)
    assert.match(text, /Major-upgrade job pod cat-1-major-upgrade-x7k2p: Pending/)
    assert.equal((result.structuredContent as {in_progress: boolean}).in_progress, true)
  })
})
