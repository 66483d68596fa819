// When upgrade_postgres_cluster's wait=true is over: CNPG writes the new image into the status
// before it restarts the first instance, so a healthy cluster on the new image counts only after
// the restarts were seen, or once the operator had time to start them.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import type {CnpgCluster} from '../../src/lib/tools/cnpg/api.ts'
import {upgradeFinished} from '../../src/lib/tools/cnpg/upgrade.ts'

const NEW = 'localhost/postgresql:15.20-b'
const cluster = (phase: string, image: string, ready = 2, extra: Record<string, unknown> = {}): CnpgCluster =>
  ({metadata: {name: 'pg', namespace: 'ns'}, spec: {instances: 2}, status: {phase, image, readyInstances: ready, ...extra}}) as unknown as CnpgCluster

test('healthy on the new image right after the change is not done yet; done once the restarts were seen', () => {
  let clock = 0
  const finished = upgradeFinished(NEW, () => clock)
  assert.equal(finished(cluster('Cluster in healthy state', NEW)).done, false, 'the operator has not restarted anything yet')
  clock = 5_000
  assert.equal(finished(cluster('Upgrading cluster', NEW, 1)).done, false)
  assert.match(finished(cluster('Upgrading cluster', NEW, 1)).message, /1\/2 ready, phase: Upgrading cluster, image: localhost\/postgresql:15\.20-b/)
  assert.equal(finished(cluster('Cluster in healthy state', NEW)).done, true)
})

test('without a visible rollout, healthy on the new image is done after the grace period; the old image or a pending major never is', () => {
  let clock = 0
  const finished = upgradeFinished(NEW, () => clock)
  clock = 25_000
  assert.equal(finished(cluster('Cluster in healthy state', 'localhost/postgresql:15.20')).done, false)
  assert.equal(finished(cluster('Cluster in healthy state', NEW, 2, {targetPgDataImageInfo: {image: NEW, majorVersion: 16}})).done, false)
  assert.match(finished(cluster('Cluster in healthy state', NEW, 2, {targetPgDataImageInfo: {image: NEW}})).message, /major upgrade pending/)
  assert.equal(finished(cluster('Cluster in healthy state', NEW)).done, true)
})
