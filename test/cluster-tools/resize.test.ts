// Storage resize, resize status, switchover and instance recycling; the whole shrink workflow end to
// end with failures injected between and inside its steps. The operator is played by the test.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {bindRole, createNamespace, harness, kubeRequest, unbindRole, waitFor} from '../support/kube.ts'
import {createInstancePodsAndPVCs, makeHealthyCluster, setClusterStatus} from '../support/operator.ts'
import {callTool, connectStdio, textOf, type StdioSession} from '../support/mcp.ts'
import {EDIT_ROLE, INSTANCE_OPS_ROLE, VIEW_ROLE, bindCnpgRoles, cnpg, ensureInstanceOpsRole, fails, getJson, installWebhookStandIn, ok, untilAdmission, waitForCnpgStorage} from './helpers.ts'
import {realNodeUnavailable} from '../real-node/helpers.ts'

const VALIDATION = 'cnpg.io/validation'
/** CEL: the old object carried cnpg.io/validation=disabled. */
const OLD_DISABLED = `has(oldObject.metadata.annotations) && '${VALIDATION}' in oldObject.metadata.annotations && oldObject.metadata.annotations['${VALIDATION}'] == 'disabled'`
const NEW_DISABLED = `has(object.metadata.annotations) && '${VALIDATION}' in object.metadata.annotations && object.metadata.annotations['${VALIDATION}'] == 'disabled'`
/** CNPG's real webhook rule, played by an admission policy: no smaller storage unless validation is disabled. */
const NO_SHRINK_UNLESS_DISABLED = {
  expression: `oldObject == null || (${NEW_DISABLED}) || !quantity(object.spec.storage.size).isLessThan(quantity(oldObject.spec.storage.size))`,
  message: "spec.storage.size: can't shrink existing storage",
}

describe('resize, resize status, promote and instance deletion against the real API server', () => {
  let ns: string
  let admin: StdioSession
  let alice: StdioSession
  const clusterOf = async (name: string) => getJson(cnpg(ns, 'clusters', name))
  const pvc = (name: string) => getJson(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`)
  const pod = (name: string) => getJson(`/api/v1/namespaces/${ns}/pods/${name}`)
  /** Admission policies act a moment after creation: probe with a dry-run metadata patch. */
  const probeUpdate = (name: string, patch: Record<string, unknown>) => () => kubeRequest('admin', 'PATCH', cnpg(ns, 'clusters', name), patch, {dryRun: true})

  before(async () => {
    ns = await createNamespace('ct-resize')
    await waitForCnpgStorage(ns)
    await ensureInstanceOpsRole()
    ;[admin, alice] = await Promise.all([connectStdio({kubeconfig: harness().kubeconfigFor('admin')}), connectStdio({kubeconfig: harness().kubeconfigFor('alice')})])
  })

  after(async () => {
    await Promise.all([admin?.close(), alice?.close()])
  })

  test('grow in place: dry run stores nothing; the size changes and validation is never touched', async () => {
    await makeHealthyCluster(ns, 'growing', {instances: 2, storageSize: '10Gi', withPods: true})
    const before = await clusterOf('growing')
    assert.match(textOf(await ok(admin, 'resize_postgres_cluster', {name: 'growing', namespace: ns, storage_size: '20Gi', dry_run: true})), /Grow the storage of cluster \S+ from 10Gi to 20Gi/)
    assert.equal((await clusterOf('growing')).metadata.resourceVersion, before.metadata.resourceVersion)
    assert.match(textOf(await ok(admin, 'resize_postgres_cluster', {name: 'growing', namespace: ns, storage_size: '10240Mi'})), /already set to 10Gi\. No change made/)
    assert.match(textOf(await ok(admin, 'resize_postgres_cluster', {name: 'growing', namespace: ns, storage_size: '20Gi'})), /Successfully requested storage growth[\s\S]*in place/)
    const after = await clusterOf('growing')
    assert.equal(after.spec.storage.size, '20Gi')
    assert.equal(after.spec.instances, 2)
    assert.equal(after.metadata.annotations?.[VALIDATION], undefined)
    const status = await ok(admin, 'get_cluster_resize_status', {name: 'growing', namespace: ns})
    assert.match(textOf(status), /Growing in place: the operator is expanding the volumes of growing-1, growing-2 to 20Gi/)
    const structured = status.structuredContent as {resize_complete: boolean; instances_at_previous_size: string[]; volumes: unknown[]}
    assert.equal(structured.resize_complete, false)
    assert.deepEqual(structured.instances_at_previous_size, ['growing-1', 'growing-2'])
    assert.equal(structured.volumes.length, 2)
  })

  test('grow refused when the StorageClass cannot expand volumes: the reason and the options, nothing changed', async () => {
    const storageClass = `kmcp-fixed-${ns}`
    const created = await kubeRequest('admin', 'POST', '/apis/storage.k8s.io/v1/storageclasses', {apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: {name: storageClass}, provisioner: 'kubernetes.io/no-provisioner'})
    assert.equal(created.status, 201, created.text)
    try {
      await makeHealthyCluster(ns, 'fixed', {instances: 1, spec: {storage: {size: '1Gi', storageClass}}})
      const before = await clusterOf('fixed')
      for (const dry_run of [true, false]) {
        await fails(admin, 'resize_postgres_cluster', {name: 'fixed', namespace: ns, storage_size: '2Gi', dry_run}, new RegExp(`StorageClass "${storageClass}" does not allow volume expansion[\\s\\S]*No change made[\\s\\S]*allowVolumeExpansion`))
      }
      assert.equal((await clusterOf('fixed')).metadata.resourceVersion, before.metadata.resourceVersion)
      const allowed = await kubeRequest('admin', 'PATCH', `/apis/storage.k8s.io/v1/storageclasses/${storageClass}`, {allowVolumeExpansion: true})
      assert.equal(allowed.status, 200, allowed.text)
      assert.match(textOf(await ok(admin, 'resize_postgres_cluster', {name: 'fixed', namespace: ns, storage_size: '2Gi'})), /Successfully requested storage growth/)
    } finally {
      await kubeRequest('admin', 'DELETE', `/apis/storage.k8s.io/v1/storageclasses/${storageClass}`)
    }
  })

  test('input rules checked before any request: storage_size required, quantities parsed, 404', async () => {
    await fails(admin, 'resize_postgres_cluster', {name: 'growing', namespace: ns}, /storage_size is required unless restore_validation_only=true/)
    await fails(admin, 'resize_postgres_cluster', {name: 'growing', namespace: ns, storage_size: '10 gigs'}, /storage_size "10 gigs" is not a valid storage size: it must not contain spaces/)
    await fails(admin, 'resize_postgres_cluster', {name: 'growing', namespace: ns, storage_size: '500m'}, /not a whole number of bytes/)
    for (const [tool, args] of [
      ['resize_postgres_cluster', {storage_size: '1Gi'}],
      ['get_cluster_resize_status', {}],
      ['promote_cluster_instance', {instance: 'ghost-2'}],
      ['delete_cluster_instance', {instance: 'ghost-2', confirm_deletion: true}],
    ] as Array<[string, Record<string, unknown>]>) {
      await fails(admin, tool, {name: 'ghost', namespace: ns, ...args}, /404 NotFound/)
    }
  })

  test('promote: guards, dry run, force, and the status subresource', async () => {
    await makeHealthyCluster(ns, 'sw', {instances: 3, status: {instancesStatus: {healthy: ['sw-1', 'sw-2'], failed: ['sw-3']}}})
    await fails(admin, 'promote_cluster_instance', {name: 'sw', namespace: ns, instance: 'sw-9'}, /not part of cluster[\s\S]*sw-1, sw-2, sw-3/)
    assert.match(textOf(await ok(admin, 'promote_cluster_instance', {name: 'sw', namespace: ns, instance: 'sw-1'})), /already the primary/)
    await fails(admin, 'promote_cluster_instance', {name: 'sw', namespace: ns, instance: 'sw-3'}, /not currently reported healthy[\s\S]*sw-1, sw-2/)
    await ok(admin, 'promote_cluster_instance', {name: 'sw', namespace: ns, instance: 'sw-2', dry_run: true})
    assert.equal((await clusterOf('sw')).status.targetPrimary, 'sw-1')
    await ok(admin, 'promote_cluster_instance', {name: 'sw', namespace: ns, instance: 'sw-2'})
    assert.equal((await clusterOf('sw')).status.targetPrimary, 'sw-2')
    await fails(admin, 'promote_cluster_instance', {name: 'sw', namespace: ns, instance: 'sw-1'}, /switchover or failover[\s\S]*to sw-2 is already in progress/)
    await setClusterStatus(ns, 'sw', {currentPrimary: 'sw-2'})
    const forced = await ok(admin, 'promote_cluster_instance', {name: 'sw', namespace: ns, instance: 'sw-3', force: true})
    assert.match(textOf(forced), /WARNING: sw-3 was not reported healthy/)
    assert.equal((await clusterOf('sw')).status.targetPrimary, 'sw-3')
  })

  test('delete instance: never the primary; nothing without confirmation or on a dry run; PVCs then Pod', async () => {
    await makeHealthyCluster(ns, 'rec', {instances: 2, withPods: true})
    await fails(admin, 'delete_cluster_instance', {name: 'rec', namespace: ns, instance: 'rec-1', confirm_deletion: true}, /is the current primary[\s\S]*promote_cluster_instance/)
    await fails(admin, 'delete_cluster_instance', {name: 'rec', namespace: ns, instance: 'rec-7', confirm_deletion: true}, /not part of cluster/)
    assert.match(await fails(admin, 'delete_cluster_instance', {name: 'rec', namespace: ns, instance: 'rec-2'}, /^REFUSED/), /Nothing was changed[\s\S]*PVC rec-2 \(PG_DATA, 1Gi\)[\s\S]*spec\.instances stays 2/)
    assert.match(textOf(await ok(admin, 'delete_cluster_instance', {name: 'rec', namespace: ns, instance: 'rec-2', dry_run: true})), /Dry run: Delete \(recycle\) one instance[\s\S]*DELETE \S+\/persistentvolumeclaims\/rec-2[\s\S]*DELETE \S+\/pods\/rec-2/)
    assert.ok(await pod('rec-2'))
    assert.equal((await pvc('rec-2')).metadata.deletionTimestamp, undefined)
    await ok(admin, 'delete_cluster_instance', {name: 'rec', namespace: ns, instance: 'rec-2', confirm_deletion: true})
    assert.equal(await pod('rec-2'), undefined)
    const claim = await pvc('rec-2')
    assert.ok(claim === undefined || claim.metadata.deletionTimestamp, 'the PVC is deleted (or held only by its protection finalizer)')
    assert.ok(await pod('rec-1'), 'the primary is untouched')
    assert.equal((await clusterOf('rec')).spec.instances, 2)
  })

  test('promote and delete instance refused by the API server (webhook rules played by policies): 422 with the rule, nothing changed', async () => {
    await makeHealthyCluster(ns, 'held', {instances: 3, withPods: true})
    const fenced = 'status.targetPrimary: instance held-3 is fenced and cannot become primary'
    const hold = 'persistentvolumeclaims: the volumes of held-2 are under a backup hold'
    const removeFenced = await installWebhookStandIn(ns, 'fenced', [{expression: "!has(object.status.targetPrimary) || object.status.targetPrimary != 'held-3'", message: fenced}], ['held'], 'clusters/status', {operations: ['UPDATE']})
    const removeHold = await installWebhookStandIn(ns, 'pvc-hold', [{expression: 'false', message: hold}], ['held-2'], 'persistentvolumeclaims', {apiGroup: '', operations: ['DELETE']})
    try {
      await untilAdmission(() => kubeRequest('admin', 'PATCH', `${cnpg(ns, 'clusters', 'held')}/status`, {status: {targetPrimary: 'held-3'}}, {dryRun: true}), 'denied', fenced)
      await untilAdmission(() => kubeRequest('admin', 'DELETE', `/api/v1/namespaces/${ns}/persistentvolumeclaims/held-2`, undefined, {dryRun: true}), 'denied', hold)
      const before = await clusterOf('held')
      for (const dry_run of [true, false]) {
        await fails(admin, 'promote_cluster_instance', {name: 'held', namespace: ns, instance: 'held-3', dry_run}, /422 Invalid[\s\S]*instance held-3 is fenced[\s\S]*What to do: The API server rejected/)
        await fails(admin, 'delete_cluster_instance', {name: 'held', namespace: ns, instance: 'held-2', dry_run, confirm_deletion: true}, /422 Invalid[\s\S]*deleting PVC held-2[\s\S]*under a backup hold[\s\S]*What to do: The API server rejected/)
      }
      const after = await clusterOf('held')
      assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion)
      assert.equal(after.status.targetPrimary, 'held-1')
      assert.equal((await pvc('held-2')).metadata.deletionTimestamp, undefined)
      assert.ok(await pod('held-2'), 'the Pod is deleted only after its volumes, so it stays')
      // The rules are precise: other instances are still promoted and recycled.
      await ok(admin, 'promote_cluster_instance', {name: 'held', namespace: ns, instance: 'held-2', dry_run: true})
      await ok(admin, 'delete_cluster_instance', {name: 'held', namespace: ns, instance: 'held-3', dry_run: true})
    } finally {
      await Promise.all([removeFenced(), removeHold()])
    }
  })

  test('403 for a user without rights on every resize/instance tool; success once bound', async () => {
    const aliceNs = await createNamespace('ct-resize-alice')
    await makeHealthyCluster(aliceNs, 'locked', {instances: 2, withPods: true})
    for (const [tool, args] of [
      ['resize_postgres_cluster', {storage_size: '2Gi'}],
      ['get_cluster_resize_status', {}],
      ['promote_cluster_instance', {instance: 'locked-2'}],
      ['delete_cluster_instance', {instance: 'locked-2', confirm_deletion: true}],
    ] as Array<[string, Record<string, unknown>]>) {
      await fails(alice, tool, {name: 'locked', namespace: aliceNs, ...args}, /403 Forbidden/)
    }
    await bindCnpgRoles(aliceNs, 'alice')
    await bindRole(aliceNs, 'alice', INSTANCE_OPS_ROLE)
    await waitFor(async () => (await callTool(alice.client, 'get_cluster_resize_status', {name: 'locked', namespace: aliceNs})).isError !== true, {message: 'bindings took effect'})
    await ok(alice, 'resize_postgres_cluster', {name: 'locked', namespace: aliceNs, storage_size: '2Gi'})
    await ok(alice, 'promote_cluster_instance', {name: 'locked', namespace: aliceNs, instance: 'locked-2'})
    await setClusterStatus(aliceNs, 'locked', {currentPrimary: 'locked-2'})
    await ok(alice, 'delete_cluster_instance', {name: 'locked', namespace: aliceNs, instance: 'locked-1', confirm_deletion: true})
  })

  test('the shrink workflow end to end, with RBAC revoked midway: recoverable, and the tools say how', async () => {
    await makeHealthyCluster(ns, 'shrinky', {instances: 3, storageSize: '10Gi', withPods: true})
    await bindCnpgRoles(ns, 'alice')
    await bindRole(ns, 'alice', INSTANCE_OPS_ROLE)
    // On the real node CNPG's own webhook answers; elsewhere a policy plays its rule.
    const remove = (await realNodeUnavailable()) === undefined ? async () => {} : await installWebhookStandIn(ns, 'no-shrink', [NO_SHRINK_UNLESS_DISABLED], ['shrinky'])
    try {
      await untilAdmission(probeUpdate('shrinky', {spec: {storage: {size: '1Gi'}}}), 'denied', "can't shrink existing storage")
      await waitFor(async () => (await callTool(alice.client, 'get_cluster_resize_status', {name: 'shrinky', namespace: ns})).isError !== true, {message: 'bindings took effect'})

      // 1. Without confirmation, and on a dry run: nothing changes.
      await fails(alice, 'resize_postgres_cluster', {name: 'shrinky', namespace: ns, storage_size: '5Gi'}, /^REFUSED: resize_postgres_cluster[\s\S]*"confirm_shrink":true/)
      await ok(alice, 'resize_postgres_cluster', {name: 'shrinky', namespace: ns, storage_size: '5Gi', dry_run: true})
      let cluster = await clusterOf('shrinky')
      assert.equal(cluster.spec.storage.size, '10Gi')
      assert.equal(cluster.metadata.annotations?.[VALIDATION], undefined)

      // 2. The confirmed shrink passes CNPG's rule because validation is disabled around the change.
      const applied = await ok(alice, 'resize_postgres_cluster', {name: 'shrinky', namespace: ns, storage_size: '5Gi', extra_instances: 1, confirm_shrink: true})
      assert.match(textOf(applied), /Shrink of cluster .* was applied[\s\S]*validation restored[\s\S]*promote_cluster_instance/)
      cluster = await clusterOf('shrinky')
      assert.equal(cluster.spec.storage.size, '5Gi')
      assert.equal(cluster.spec.instances, 4)
      assert.equal(cluster.metadata.annotations?.[VALIDATION], undefined, 'validation restored')

      // The operator adds shrinky-4 at the new size, healthy.
      await createInstancePodsAndPVCs(ns, 'shrinky', ['shrinky-4'], {primary: 'shrinky-1', storageSize: '5Gi'})
      const names = ['shrinky-1', 'shrinky-2', 'shrinky-3', 'shrinky-4']
      await setClusterStatus(ns, 'shrinky', {instances: 4, readyInstances: 4, instanceNames: names, instancesStatus: {healthy: names}})
      let status = await ok(alice, 'get_cluster_resize_status', {name: 'shrinky', namespace: ns})
      assert.match(textOf(status), /primary shrinky-1 still has the previous size[\s\S]*promote_cluster_instance\(\{"name":"shrinky","namespace":"[^"]+","instance":"shrinky-4"\}\)/)

      // 3. Injected failure: alice loses the edit role before the switchover.
      await unbindRole(ns, 'alice', EDIT_ROLE)
      await waitFor(async () => (await callTool(alice.client, 'promote_cluster_instance', {name: 'shrinky', namespace: ns, instance: 'shrinky-4', dry_run: true})).isError === true, {message: 'the unbinding took effect'})
      await fails(alice, 'promote_cluster_instance', {name: 'shrinky', namespace: ns, instance: 'shrinky-4'}, /403 Forbidden[\s\S]*cnpg-cloudnative-pg-edit/)
      // Nothing half-done: the cluster is as the shrink left it, and the status still gives the next step.
      status = await ok(alice, 'get_cluster_resize_status', {name: 'shrinky', namespace: ns})
      assert.match(textOf(status), /Promote a resized healthy instance/)
      assert.equal((await clusterOf('shrinky')).status.targetPrimary, 'shrinky-1')

      // 4. Rights restored: the workflow continues where it stopped.
      await bindRole(ns, 'alice', EDIT_ROLE)
      await waitFor(async () => (await callTool(alice.client, 'promote_cluster_instance', {name: 'shrinky', namespace: ns, instance: 'shrinky-4', dry_run: true})).isError !== true, {message: 'the binding took effect'})
      await ok(alice, 'promote_cluster_instance', {name: 'shrinky', namespace: ns, instance: 'shrinky-4'})
      status = await ok(alice, 'get_cluster_resize_status', {name: 'shrinky', namespace: ns})
      assert.match(textOf(status), /switchover to shrinky-4 is in progress/)
      await setClusterStatus(ns, 'shrinky', {currentPrimary: 'shrinky-4'})
      status = await ok(alice, 'get_cluster_resize_status', {name: 'shrinky', namespace: ns})
      for (const old of ['shrinky-1', 'shrinky-2', 'shrinky-3']) assert.match(textOf(status), new RegExp(`delete_cluster_instance\\(\\{[^)]*"instance":"${old}"`))

      // 5. Recycle the old instances; as CNPG 1.30 does, the operator re-creates each under the
      // lowest free instance number (the same name) with a new-size volume.
      for (const old of ['shrinky-1', 'shrinky-2', 'shrinky-3']) {
        await ok(alice, 'delete_cluster_instance', {name: 'shrinky', namespace: ns, instance: old, confirm_deletion: true})
        // A terminating PVC keeps its name until its protection finalizer is lifted; the operator would wait.
        await kubeRequest('admin', 'PATCH', `/api/v1/namespaces/${ns}/persistentvolumeclaims/${old}`, {metadata: {finalizers: null}})
        await waitFor(async () => (await pvc(old)) === undefined, {message: `PVC ${old} is gone`})
        await createInstancePodsAndPVCs(ns, 'shrinky', [old], {primary: 'shrinky-4', storageSize: '5Gi'})
      }
      status = await ok(alice, 'get_cluster_resize_status', {name: 'shrinky', namespace: ns})
      assert.match(textOf(status), /Resize is complete/)
      assert.equal((status.structuredContent as {resize_complete: boolean}).resize_complete, true)

      // 6. Scale back to the original count.
      await ok(alice, 'scale_postgres_cluster', {name: 'shrinky', namespace: ns, instances: 3, confirm_scale_down: true})
      assert.equal((await clusterOf('shrinky')).spec.instances, 3)
    } finally {
      await remove()
      await unbindRole(ns, 'alice', VIEW_ROLE)
      await unbindRole(ns, 'alice', EDIT_ROLE)
    }
  })

  test('shrink failing inside the call: the spec change refused, validation restored, reported as not applied', async () => {
    await makeHealthyCluster(ns, 'refused', {instances: 2, storageSize: '10Gi'})
    const remove = await installWebhookStandIn(ns, 'never-shrink', [{expression: 'oldObject == null || !quantity(object.spec.storage.size).isLessThan(quantity(oldObject.spec.storage.size))', message: 'spec.storage.size: shrinking is forbidden here'}], ['refused'])
    try {
      await untilAdmission(probeUpdate('refused', {spec: {storage: {size: '1Gi'}}}), 'denied', 'shrinking is forbidden here')
      const text = await fails(admin, 'resize_postgres_cluster', {name: 'refused', namespace: ns, storage_size: '5Gi', confirm_shrink: true}, /shrink of cluster .* was NOT applied[\s\S]*shrinking is forbidden here[\s\S]*restored to its previous value; the cluster is unchanged/)
      assert.doesNotMatch(text, /could NOT be restored/)
      const cluster = await clusterOf('refused')
      assert.equal(cluster.spec.storage.size, '10Gi')
      assert.equal(cluster.spec.instances, 2)
      assert.equal(cluster.metadata.annotations?.[VALIDATION], undefined)
    } finally {
      await remove()
    }
  })

  test('shrink failing twice (the change AND the restore refused): reported honestly, recoverable with restore_validation_only', async () => {
    await makeHealthyCluster(ns, 'frozen', {instances: 2, storageSize: '10Gi'})
    // Any change to a cluster whose validation is disabled is refused: step 2 and step 3 both fail.
    const remove = await installWebhookStandIn(ns, 'freeze', [{expression: `oldObject == null || !(${OLD_DISABLED})`, message: 'cluster frozen while validation is disabled'}], ['frozen', 'frozen-probe'])
    let removed = false
    try {
      // Probe on a throwaway cluster that has the annotation.
      await makeHealthyCluster(ns, 'frozen-probe', {instances: 1})
      await kubeRequest('admin', 'PATCH', cnpg(ns, 'clusters', 'frozen-probe'), {metadata: {annotations: {[VALIDATION]: 'disabled'}}})
      await untilAdmission(probeUpdate('frozen-probe', {metadata: {labels: {x: 'y'}}}), 'denied', 'cluster frozen while validation is disabled')
      const text = await fails(admin, 'resize_postgres_cluster', {name: 'frozen', namespace: ns, storage_size: '5Gi', confirm_shrink: true}, /was NOT applied[\s\S]*validation could NOT be restored[\s\S]*left with annotation cnpg\.io\/validation=disabled[\s\S]*restore_validation_only/)
      assert.doesNotMatch(text, /WAS applied/)
      let cluster = await clusterOf('frozen')
      assert.equal(cluster.spec.storage.size, '10Gi')
      assert.equal(cluster.metadata.annotations?.[VALIDATION], 'disabled')
      // The status tool warns first.
      assert.match(textOf(await ok(admin, 'get_cluster_resize_status', {name: 'frozen', namespace: ns})), /Next step:\*\*\nWARNING: CNPG validation is disabled/)
      await remove()
      removed = true
      await untilAdmission(probeUpdate('frozen-probe', {metadata: {labels: {x: 'y'}}}), 'allowed', 'cluster frozen while validation is disabled')
      await ok(admin, 'resize_postgres_cluster', {name: 'frozen', namespace: ns, restore_validation_only: true, dry_run: true})
      assert.equal((await clusterOf('frozen')).metadata.annotations?.[VALIDATION], 'disabled')
      assert.match(textOf(await ok(admin, 'resize_postgres_cluster', {name: 'frozen', namespace: ns, restore_validation_only: true})), /Re-enabled CNPG validation/)
      cluster = await clusterOf('frozen')
      assert.equal(cluster.metadata.annotations?.[VALIDATION], undefined)
      assert.match(textOf(await ok(admin, 'resize_postgres_cluster', {name: 'frozen', namespace: ns, restore_validation_only: true})), /already enabled/)
    } finally {
      if (!removed) await remove()
    }
  })

  test('shrink applied but the restore refused: says the change WAS applied and how to re-enable validation', async () => {
    await makeHealthyCluster(ns, 'sticky', {instances: 2, storageSize: '10Gi'})
    // Removing the disabled annotation is refused; everything else is allowed.
    const remove = await installWebhookStandIn(ns, 'sticky', [{expression: `oldObject == null || !(${OLD_DISABLED}) || (${NEW_DISABLED})`, message: 'validation may not be re-enabled right now'}], ['sticky', 'sticky-probe'])
    try {
      await makeHealthyCluster(ns, 'sticky-probe', {instances: 1})
      await kubeRequest('admin', 'PATCH', cnpg(ns, 'clusters', 'sticky-probe'), {metadata: {annotations: {[VALIDATION]: 'disabled'}}})
      await untilAdmission(probeUpdate('sticky-probe', {metadata: {annotations: {[VALIDATION]: null}}}), 'denied', 'validation may not be re-enabled right now')
      await fails(admin, 'resize_postgres_cluster', {name: 'sticky', namespace: ns, storage_size: '5Gi', extra_instances: 2, confirm_shrink: true}, /WAS applied \(spec\.storage\.size=5Gi, spec\.instances=4\), but validation could NOT be restored[\s\S]*restore_validation_only/)
      const cluster = await clusterOf('sticky')
      assert.equal(cluster.spec.storage.size, '5Gi')
      assert.equal(cluster.spec.instances, 4)
      assert.equal(cluster.metadata.annotations?.[VALIDATION], 'disabled')
    } finally {
      await remove()
    }
  })
})
