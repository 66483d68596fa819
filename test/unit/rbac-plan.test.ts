// The objects `kmcp rbac setup` plans, and the comparisons that decide create / update / unchanged.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {labelsDiffer, sameJson} from '../../src/lib/setup/kube-objects.ts'
import {desiredRbacObjects, serviceAccountUser} from '../../src/lib/setup/rbac.ts'

const target = {namespace: 'kmcp', serviceAccount: 'kmcp', targetNamespaces: ['team-a', 'team-b'], clusterWide: false, impersonate: false}
const kinds = (objects: ReturnType<typeof desiredRbacObjects>) => objects.map(({object}) => `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`)

test('namespaced: a ServiceAccount first, then Roles and RoleBindings in each target namespace only', () => {
  const objects = desiredRbacObjects(target)
  assert.equal(objects[0].object.kind, 'ServiceAccount')
  assert.equal(objects[0].collectionPath, '/api/v1/namespaces/kmcp/serviceaccounts')
  const rest = objects.slice(1)
  assert.ok(rest.length > 0)
  for (const {object, collectionPath} of rest) {
    assert.ok(['Role', 'RoleBinding'].includes(object.kind as string), `${object.kind} in namespaced mode`)
    assert.ok(['team-a', 'team-b'].includes(object.metadata.namespace ?? ''), kinds([{object, collectionPath}])[0])
    assert.ok(collectionPath.includes(`/namespaces/${object.metadata.namespace}/`))
  }
  for (const {object} of rest.filter(({object}) => object.kind === 'RoleBinding')) {
    assert.deepEqual((object as unknown as {subjects: unknown}).subjects, [{kind: 'ServiceAccount', name: 'kmcp', namespace: 'kmcp'}])
  }
  assert.equal(new Set(kinds(objects)).size, objects.length, 'no object is planned twice')
})

test('cluster-wide: ClusterRoles and ClusterRoleBindings, nothing namespaced besides the ServiceAccount', () => {
  const objects = desiredRbacObjects({...target, clusterWide: true})
  for (const {object} of objects.slice(1)) {
    assert.ok(['ClusterRole', 'ClusterRoleBinding'].includes(object.kind as string), object.kind as string)
    assert.equal(object.metadata.namespace, undefined)
  }
  assert.ok(objects.some(({object}) => object.kind === 'ClusterRole'))
})

test('impersonation adds rights, never removes them', () => {
  const plain = kinds(desiredRbacObjects(target))
  const impersonating = kinds(desiredRbacObjects({...target, impersonate: true}))
  for (const name of plain) assert.ok(impersonating.includes(name), name)
  assert.equal(serviceAccountUser(target), 'system:serviceaccount:kmcp:kmcp')
})

test('labelsDiffer looks only at the wanted labels; sameJson ignores key order', () => {
  assert.equal(labelsDiffer({a: '1', extra: 'x'}, {a: '1'}), false)
  assert.equal(labelsDiffer({a: '2'}, {a: '1'}), true)
  assert.equal(labelsDiffer(undefined, {a: '1'}), true)
  assert.equal(labelsDiffer(undefined, {}), false)
  assert.equal(sameJson({a: 1, b: [1, {c: 2, d: 3}]}, {b: [1, {d: 3, c: 2}], a: 1}), true)
  assert.equal(sameJson({a: [1, 2]}, {a: [2, 1]}), false, 'array order matters')
  assert.equal(sameJson({a: null}, {}), false)
})
