// Cluster lifecycle tools (create, scale, delete, hibernate, resume, restart) through a real MCP
// client and a real API server; the operator's part is played by writing .status.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createNamespace, harness, kubeRequest, waitFor} from '../support/kube.ts'
import {healthyClusterStatus, makeHealthyCluster, setClusterStatus} from '../support/operator.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {CNPG_INITDB_DEFAULTS, CNPG_PARAMETER_DEFAULTS, assertSentWithCnpgDefaults, bindCnpgRoles, cnpg, connectEliciting, fails, getJson, installWebhookStandIn, ok, untilAdmission, waitForCnpgStorage, yamlBlock, type ElicitingSession} from './helpers.ts'


describe('cluster lifecycle tools against the real API server', () => {
  let ns: string
  let admin: StdioSession
  let alice: StdioSession
  let human: ElicitingSession

  before(async () => {
    ns = await createNamespace('ct-life')
    await waitForCnpgStorage(ns)
    ;[admin, alice, human] = await Promise.all([
      // Images outside the CloudNativePG registry need --allowed-images (KMCP_ALLOWED_IMAGES).
      connectStdio({kubeconfig: harness().kubeconfigFor('admin'), env: {KMCP_ALLOWED_IMAGES: 'ghcr.io/cloudnative-pg/,registry.example.com/,postgres:'}}),
      connectStdio({kubeconfig: harness().kubeconfigFor('alice')}),
      connectEliciting('admin'),
    ])
  })

  after(async () => {
    await Promise.all([admin?.close(), alice?.close(), human?.close()])
  })

  test('tools/list: every lifecycle tool with annotations; destructive ones say so', async () => {
    const {tools} = await admin.client.listTools()
    const byName = new Map(tools.map((t) => [t.name, t]))
    for (const name of ['create_postgres_cluster', 'scale_postgres_cluster', 'delete_postgres_cluster', 'hibernate_postgres_cluster', 'resume_postgres_cluster', 'restart_postgres_cluster']) {
      const tool = byName.get(name)
      assert.ok(tool, `${name} is listed`)
      assert.equal(tool.annotations?.readOnlyHint, false)
      assert.match(tool.description ?? '', /Example:/)
      assert.match(tool.description ?? '', /Errors:/)
    }
    assert.equal(byName.get('delete_postgres_cluster')?.annotations?.destructiveHint, true)
    const create = byName.get('create_postgres_cluster')!.inputSchema as {properties: Record<string, {description?: string}>}
    for (const param of ['instances', 'storage_size', 'postgres_version', 'container_image', 'storage_class', 'image_pull_policy', 'node_selector', 'tolerations']) {
      assert.ok(create.properties[param]?.description, `create_postgres_cluster.${param} has a description`)
    }
    // The parameters every tool shares are explained once, in the server instructions.
    const instructions = admin.client.getInstructions() ?? ''
    for (const param of ['name', 'wait', 'timeout', 'namespace', 'dry_run']) {
      assert.ok(create.properties[param], `create_postgres_cluster takes ${param}`)
      assert.equal(create.properties[param].description, undefined, `create_postgres_cluster.${param} is not described again`)
      assert.ok(instructions.includes(param), `the instructions explain ${param}`)
    }
  })

  test('create dry run: the server-validated manifest with every default, and nothing stored', async () => {
    const result = await ok(admin, 'create_postgres_cluster', {name: 'dry-run-db', namespace: ns, container_image: 'registry.example.com/postgresql:16.4', dry_run: true})
    const manifest = yamlBlock(textOf(result))
    assert.equal(manifest.kind, 'Cluster')
    assert.equal(manifest.metadata.name, 'dry-run-db')
    assert.equal(manifest.metadata.namespace, ns)
    assert.equal(manifest.spec.imageName, 'registry.example.com/postgresql:16.4')
    assert.equal(manifest.spec.instances, 3)
    assert.equal(manifest.spec.storage.size, '10Gi')
    assertSentWithCnpgDefaults(manifest.spec.bootstrap.initdb, {database: 'app', owner: 'app'}, CNPG_INITDB_DEFAULTS)
    assertSentWithCnpgDefaults(manifest.spec.postgresql.parameters, {max_connections: '100', shared_buffers: '256MB'}, CNPG_PARAMETER_DEFAULTS)
    // Defaults the API server added from the CRD schema (and, with a real node, CNPG's webhook above)
    // prove it really was the server's answer.
    assert.equal(manifest.spec.enablePDB, true)
    assert.match(textOf(result), /accepted this request with dryRun=All/)
    assert.equal(await getJson(cnpg(ns, 'clusters', 'dry-run-db')), undefined)
  })

  test('create with placement, resources and monitoring; 409 on the same name', async () => {
    const toleration = {key: 'dedicated', operator: 'Equal', value: 'postgres', effect: 'NoSchedule'}
    await ok(admin, 'create_postgres_cluster', {
      name: 'orders', namespace: ns, instances: 2, storage_size: '20Gi', storage_class: 'local-storage', postgres_version: '16',
      image_pull_policy: 'IfNotPresent', node_selector: {'kubernetes.io/hostname': 'worker-1'}, tolerations: [toleration],
      database: 'orders', owner: 'orders_owner', resources: {requests: {cpu: '500m', memory: '1Gi'}, limits: {memory: '1Gi'}}, enable_pod_monitor: true,
    })
    const stored = await getJson(cnpg(ns, 'clusters', 'orders'))
    assert.equal(stored.spec.instances, 2)
    assert.equal(stored.spec.imageName, 'ghcr.io/cloudnative-pg/postgresql:16')
    assert.deepEqual(stored.spec.storage, {size: '20Gi', storageClass: 'local-storage', resizeInUseVolumes: true})
    assert.deepEqual(stored.spec.affinity.nodeSelector, {'kubernetes.io/hostname': 'worker-1'})
    assert.deepEqual(stored.spec.affinity.tolerations, [toleration])
    assertSentWithCnpgDefaults(stored.spec.bootstrap.initdb, {database: 'orders', owner: 'orders_owner'}, CNPG_INITDB_DEFAULTS)
    assert.equal(stored.spec.resources.requests.cpu, '500m')
    assert.equal(stored.spec.monitoring.enablePodMonitor, true)
    assert.equal(stored.metadata.labels['app.kubernetes.io/managed-by'], 'kmcp')
    await fails(admin, 'create_postgres_cluster', {name: 'orders', namespace: ns}, /409 AlreadyExists[\s\S]*already exists/)
  })

  test('403 for a user without rights, success once bound to the CNPG roles', async () => {
    const aliceNs = await createNamespace('ct-life-alice')
    await makeHealthyCluster(aliceNs, 'shared', {instances: 2})
    const calls: Array<[string, Record<string, unknown>]> = [
      ['create_postgres_cluster', {name: 'mine', namespace: aliceNs}],
      ['scale_postgres_cluster', {name: 'shared', namespace: aliceNs, instances: 3}],
      ['delete_postgres_cluster', {name: 'shared', namespace: aliceNs, confirm_deletion: true}],
      ['hibernate_postgres_cluster', {name: 'shared', namespace: aliceNs, confirm: true}],
      ['resume_postgres_cluster', {name: 'shared', namespace: aliceNs}],
      ['restart_postgres_cluster', {name: 'shared', namespace: aliceNs, confirm: true}],
    ]
    for (const [tool, args] of calls) await fails(alice, tool, args, /403 Forbidden[\s\S]*cnpg-cloudnative-pg-(view|edit)/)
    assert.equal((await getJson(cnpg(aliceNs, 'clusters', 'shared'))).spec.instances, 2)
    await bindCnpgRoles(aliceNs, 'alice')
    await waitFor(async () => (await callTool(alice.client, 'get_cluster_status', {name: 'shared', namespace: aliceNs})).isError !== true, {message: 'the binding took effect'})
    await ok(alice, 'create_postgres_cluster', {name: 'mine', namespace: aliceNs, instances: 1})
    await ok(alice, 'scale_postgres_cluster', {name: 'shared', namespace: aliceNs, instances: 3})
    await ok(alice, 'restart_postgres_cluster', {name: 'shared', namespace: aliceNs, confirm: true})
    await ok(alice, 'delete_postgres_cluster', {name: 'mine', namespace: aliceNs, confirm_deletion: true})
    assert.equal((await getJson(cnpg(aliceNs, 'clusters', 'shared'))).spec.instances, 3)
    assert.equal(await getJson(cnpg(aliceNs, 'clusters', 'mine')), undefined)
  })

  test('404 for every tool on a cluster that does not exist', async () => {
    for (const [tool, args] of [
      ['scale_postgres_cluster', {instances: 2}],
      ['delete_postgres_cluster', {confirm_deletion: true}],
      ['hibernate_postgres_cluster', {confirm: true}],
      ['resume_postgres_cluster', {}],
      ['restart_postgres_cluster', {confirm: true}],
    ] as Array<[string, Record<string, unknown>]>) {
      await fails(admin, tool, {name: 'ghost', namespace: ns, ...args}, /404 NotFound[\s\S]*list_postgres_clusters/)
    }
  })

  test('scale: dry run stores nothing, the same count changes nothing, a real scale patches spec.instances', async () => {
    await makeHealthyCluster(ns, 'scaly', {instances: 2})
    const before = await getJson(cnpg(ns, 'clusters', 'scaly'))
    const dry = await ok(admin, 'scale_postgres_cluster', {name: 'scaly', namespace: ns, instances: 4, dry_run: true})
    assert.match(textOf(dry), /scale up from 2 to 4 instances/)
    assert.equal(yamlBlock(textOf(dry)).spec.instances, 4)
    assert.equal((await getJson(cnpg(ns, 'clusters', 'scaly'))).metadata.resourceVersion, before.metadata.resourceVersion)
    assert.match(textOf(await ok(admin, 'scale_postgres_cluster', {name: 'scaly', namespace: ns, instances: 2})), /already has 2 instance\(s\)\. No change made/)
    await fails(admin, 'scale_postgres_cluster', {name: 'scaly', namespace: ns, instances: 1}, /^REFUSED[\s\S]*scale down from 2 to 1[\s\S]*"confirm_scale_down":true/)
    assert.equal((await getJson(cnpg(ns, 'clusters', 'scaly'))).spec.instances, 2)
    const scaled = await ok(admin, 'scale_postgres_cluster', {name: 'scaly', namespace: ns, instances: 1, confirm_scale_down: true})
    assert.match(textOf(scaled), /scal[\s\S]*scale down from 2 to 1/)
    assert.equal((await getJson(cnpg(ns, 'clusters', 'scaly'))).spec.instances, 1)
  })

  test('delete: nothing happens without confirmation or on a dry run; kmcp deletes only its own Secrets', async () => {
    await makeHealthyCluster(ns, 'doomed', {instances: 2})
    const secret = (name: string, labels: Record<string, string>) => kubeRequest('admin', 'POST', `/api/v1/namespaces/${ns}/secrets`, {metadata: {name, labels: {'cnpg.io/cluster': 'doomed', ...labels}}, stringData: {password: 'x'}})
    assert.equal((await secret('doomed-app', {})).status, 201)
    assert.equal((await secret('cnpg-doomed-user-alice', {'app.kubernetes.io/managed-by': 'kmcp', 'kmcp.io/secret-purpose': 'role-password'})).status, 201)
    const refused = await callTool(admin.client, 'delete_postgres_cluster', {name: 'doomed', namespace: ns})
    assert.equal(refused.isError, true, 'an unconfirmed delete is an error, never a success')
    assert.match(textOf(refused), /^REFUSED: delete_postgres_cluster did not run[\s\S]*Nothing was changed[\s\S]*cnpg-doomed-user-alice[\s\S]*delete_postgres_cluster\(\{"name":"doomed","namespace":"[^"]+","confirm_deletion":true\}\)/)
    assert.equal((refused.structuredContent as {status?: string}).status, 'refused')
    const dry = await ok(admin, 'delete_postgres_cluster', {name: 'doomed', namespace: ns, dry_run: true, confirm_deletion: true})
    assert.match(textOf(dry), /Dry run: Delete a PostgreSQL cluster[\s\S]*DELETE \/apis\/postgresql.cnpg.io\/v1\/namespaces\/[^/]+\/clusters\/doomed/)
    assert.ok(await getJson(cnpg(ns, 'clusters', 'doomed')), 'a dry-run delete keeps the cluster')
    const deleted = await ok(admin, 'delete_postgres_cluster', {name: 'doomed', namespace: ns, confirm_deletion: true})
    assert.match(textOf(deleted), /Successfully deleted cluster[\s\S]*Cleaned up 1 associated role secret/)
    assert.equal(await getJson(cnpg(ns, 'clusters', 'doomed')), undefined)
    assert.equal(await getJson(`/api/v1/namespaces/${ns}/secrets/cnpg-doomed-user-alice`), undefined)
    assert.ok(await getJson(`/api/v1/namespaces/${ns}/secrets/doomed-app`), 'a Secret kmcp did not create survives')
  })

  test('elicitation: the human is asked, a decline changes nothing even with the flag, an accept proceeds', async () => {
    await makeHealthyCluster(ns, 'asked', {instances: 1})
    human.answer = 'decline'
    await fails(human, 'delete_postgres_cluster', {name: 'asked', namespace: ns, confirm_deletion: true}, /^REFUSED[\s\S]*human declined/)
    assert.match(human.questions.at(-1) ?? '', /Deleting cluster .*asked destroys/)
    assert.ok(await getJson(cnpg(ns, 'clusters', 'asked')))
    await fails(human, 'hibernate_postgres_cluster', {name: 'asked', namespace: ns, confirm: true}, /^REFUSED[\s\S]*human declined/)
    assert.equal((await getJson(cnpg(ns, 'clusters', 'asked'))).metadata.annotations?.['cnpg.io/hibernation'], undefined)
    human.answer = 'accept'
    assert.match(textOf(await ok(human, 'delete_postgres_cluster', {name: 'asked', namespace: ns})), /confirmed by the human/)
    assert.equal(await getJson(cnpg(ns, 'clusters', 'asked')), undefined)
  })

  test('hibernate, resume and restart: confirmation, dry run, and the annotations the operator acts on', async () => {
    await makeHealthyCluster(ns, 'sleepy', {instances: 1})
    const annotations = async () => (await getJson(cnpg(ns, 'clusters', 'sleepy'))).metadata.annotations ?? {}
    await fails(admin, 'hibernate_postgres_cluster', {name: 'sleepy', namespace: ns}, /^REFUSED: hibernate_postgres_cluster[\s\S]*"confirm":true/)
    await ok(admin, 'hibernate_postgres_cluster', {name: 'sleepy', namespace: ns, dry_run: true})
    assert.equal((await annotations())['cnpg.io/hibernation'], undefined)
    await ok(admin, 'hibernate_postgres_cluster', {name: 'sleepy', namespace: ns, confirm: true})
    assert.equal((await annotations())['cnpg.io/hibernation'], 'on')
    assert.match(textOf(await ok(admin, 'get_cluster_status', {name: 'sleepy', namespace: ns})), /Hibernated: yes/)
    assert.match(textOf(await ok(admin, 'hibernate_postgres_cluster', {name: 'sleepy', namespace: ns, confirm: true})), /already hibernated/)
    await ok(admin, 'resume_postgres_cluster', {name: 'sleepy', namespace: ns})
    assert.equal((await annotations())['cnpg.io/hibernation'], 'off')
    assert.match(textOf(await ok(admin, 'resume_postgres_cluster', {name: 'sleepy', namespace: ns})), /not hibernated/)
    await fails(admin, 'restart_postgres_cluster', {name: 'sleepy', namespace: ns}, /^REFUSED: restart_postgres_cluster/)
    assert.equal((await annotations())['kubectl.kubernetes.io/restartedAt'], undefined)
    await ok(admin, 'restart_postgres_cluster', {name: 'sleepy', namespace: ns, confirm: true})
    const restartedAt = (await annotations())['kubectl.kubernetes.io/restartedAt']
    assert.ok(restartedAt && Math.abs(Date.parse(restartedAt) - Date.now()) < 60_000, `restartedAt ${restartedAt} is now`)
  })

  test('hibernate, resume and restart refused by the API server (a change freeze played by a policy): 422 with the rule, nothing changed', async () => {
    await makeHealthyCluster(ns, 'frozen', {instances: 1})
    await makeHealthyCluster(ns, 'frozen-asleep', {instances: 1})
    await kubeRequest('admin', 'PATCH', cnpg(ns, 'clusters', 'frozen-asleep'), {metadata: {annotations: {'cnpg.io/hibernation': 'on'}}})
    const annotation = (object: string, key: string) => `((has(${object}.metadata.annotations) && '${key}' in ${object}.metadata.annotations) ? ${object}.metadata.annotations['${key}'] : '')`
    const unchanged = ['cnpg.io/hibernation', 'kubectl.kubernetes.io/restartedAt'].map((key) => `${annotation('object', key)} == ${annotation('oldObject', key)}`).join(' && ')
    const freeze = 'metadata.annotations: the cluster is under a change freeze (no hibernation, resume or restart)'
    const remove = await installWebhookStandIn(ns, 'freeze', [{expression: unchanged, message: freeze}], ['frozen', 'frozen-asleep'], 'clusters', {operations: ['UPDATE']})
    try {
      await untilAdmission(() => kubeRequest('admin', 'PATCH', cnpg(ns, 'clusters', 'frozen'), {metadata: {annotations: {'kubectl.kubernetes.io/restartedAt': 'probe'}}}, {dryRun: true}), 'denied', freeze)
      const versions = async () => Promise.all(['frozen', 'frozen-asleep'].map(async (name) => (await getJson(cnpg(ns, 'clusters', name))).metadata.resourceVersion))
      const before = await versions()
      for (const dry_run of [true, false]) {
        for (const [tool, name] of [['hibernate_postgres_cluster', 'frozen'], ['resume_postgres_cluster', 'frozen-asleep'], ['restart_postgres_cluster', 'frozen']]) {
          await fails(admin, tool, {name, namespace: ns, ...(tool === 'resume_postgres_cluster' ? {} : {confirm: true}), dry_run}, /422 Invalid[\s\S]*under a change freeze[\s\S]*What to do: The API server rejected/)
        }
      }
      assert.deepEqual(await versions(), before)
      assert.equal((await getJson(cnpg(ns, 'clusters', 'frozen'))).metadata.annotations?.['cnpg.io/hibernation'], undefined)
      assert.equal((await getJson(cnpg(ns, 'clusters', 'frozen-asleep'))).metadata.annotations['cnpg.io/hibernation'], 'on')
    } finally {
      await remove()
    }
  })

  test('wait=true: progress notifications while the operator works, then done', async () => {
    const progress: string[] = []
    const pending = admin.client.callTool({name: 'create_postgres_cluster', arguments: {name: 'waited', namespace: ns, instances: 2, wait: true, timeout: 60}}, undefined, {onprogress: (p) => progress.push(p.message ?? ''), timeout: 90_000})
    await waitFor(async () => Boolean(await getJson(cnpg(ns, 'clusters', 'waited'))), {message: 'the cluster was created'})
    await setClusterStatus(ns, 'waited', {phase: 'Setting up primary', instances: 2, readyInstances: 0})
    await waitFor(() => progress.some((m) => m.includes('0/2 ready, phase: Setting up primary')), {message: `progress reported the phase (got ${JSON.stringify(progress)})`})
    await setClusterStatus(ns, 'waited', healthyClusterStatus('waited', {instances: 2}))
    const result = (await pending) as {content: Array<{type: string; text?: string}>; isError?: boolean}
    assert.notEqual(result.isError, true)
    assert.match(result.content.map((c) => c.text ?? '').join('\n'), /reached the desired state after \d+ s: 2\/2 ready/)
  })

  test('wait=true: a clear TIMED OUT status (not an error) when the cluster does not become ready', async () => {
    const result = await ok(admin, 'create_postgres_cluster', {name: 'slow', namespace: ns, instances: 1, wait: true, timeout: 5})
    assert.match(textOf(result), /TIMED OUT[\s\S]*within 5 s[\s\S]*The change itself was made/)
    assert.ok(await getJson(cnpg(ns, 'clusters', 'slow')))
  })

  test('wait=true: cancelling the call stops the wait on the server', async () => {
    const controller = new AbortController()
    const pending = admin.client.callTool({name: 'scale_postgres_cluster', arguments: {name: 'slow', namespace: ns, instances: 2, wait: true, timeout: 600}}, undefined, {signal: controller.signal, timeout: 700_000})
    await waitFor(async () => (await getJson(cnpg(ns, 'clusters', 'slow'))).spec.instances === 2, {message: 'the scale was applied'})
    const auditLines = () => admin.stderr().split('\n').filter((line) => line.includes('"kind":"audit"') && line.includes('scale_postgres_cluster') && line.includes(`${ns}/slow`))
    const before = auditLines().length
    controller.abort()
    await assert.rejects(pending)
    // The handler ends (and writes its audit line) long before the 600 s timeout.
    await waitFor(() => auditLines().length > before, {timeoutMs: 15_000, message: 'the server stopped waiting after the cancellation'})
  })
})
