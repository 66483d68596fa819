// RFC 1123 names and PostgreSQL identifiers, as the tools validate them.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {kubeName, rfc1123Problem} from '../../src/lib/tools/validation.ts'
import {clusterNameParam} from '../../src/lib/tools/cnpg/params.ts'
import {checkDerivedName, objectNameFor, postgresNameProblem, roleSecretName} from '../../src/lib/tools/postgres/names.ts'

test('RFC 1123 labels: valid names pass, each rule broken is named', () => {
  for (const name of ['a', 'orders-db', '0db', 'a'.repeat(63), 'x-1-y']) assert.equal(rfc1123Problem(name), undefined, name)
  assert.equal(rfc1123Problem(''), 'must not be empty')
  assert.equal(rfc1123Problem('a'.repeat(64)), 'must be at most 63 characters (got 64)')
  assert.equal(rfc1123Problem('a'.repeat(51), 50), 'must be at most 50 characters (got 51)')
  assert.equal(rfc1123Problem('Orders'), 'must be lower case')
  assert.equal(rfc1123Problem('orders_db'), 'may contain only a-z, 0-9 and "-" (found "_")')
  assert.equal(rfc1123Problem('-db'), 'must start with a letter or digit')
  assert.equal(rfc1123Problem('db-'), 'must end with a letter or digit')
  assert.equal(rfc1123Problem('Bad_Name-'), 'must be lower case; may contain only a-z, 0-9 and "-" (found "_"); must end with a letter or digit')
  assert.equal(rfc1123Problem('orders.db'), 'may contain only a-z, 0-9 and "-" (found ".")')
})

test('kubeName() turns a problem into a message that names the argument and the rule', () => {
  const schema = kubeName('namespace')
  assert.equal(schema.parse('team-a'), 'team-a')
  const result = schema.safeParse('Team_A')
  assert.equal(result.success, false)
  assert.match(result.error?.issues[0]?.message ?? '', /^namespace "Team_A" is not a valid Kubernetes name: it must be lower case; .* \(RFC 1123: .* at most 63 characters\)$/)
  const long = clusterNameParam().safeParse('c'.repeat(51))
  assert.equal(long.success, false, 'CNPG cluster names are limited to 50 characters')
  assert.match(long.error?.issues[0]?.message ?? '', /at most 50 characters \(got 51\)/)
})

test('PostgreSQL role and database names, and the Kubernetes names derived from them', () => {
  for (const name of ['app', 'app_owner', 'reporting-2', 'a']) assert.equal(postgresNameProblem(name), undefined, name)
  assert.equal(postgresNameProblem(''), 'must not be empty')
  assert.equal(postgresNameProblem('x'.repeat(64)), 'must be at most 63 characters (got 64)')
  assert.equal(postgresNameProblem('App'), 'must be lower case')
  assert.equal(postgresNameProblem('1app'), 'must start with a letter')
  assert.equal(postgresNameProblem('app_'), 'must end with a letter or digit')
  assert.equal(postgresNameProblem('app;drop'), 'may contain only a-z, 0-9, "_" and "-" (found ";")')
  assert.equal(objectNameFor('orders-db', 'app_owner'), 'orders-db-app-owner')
  assert.equal(roleSecretName('orders-db', 'app_owner'), 'cnpg-orders-db-user-app-owner')
  assert.doesNotThrow(() => checkDerivedName('Database', objectNameFor('orders-db', 'app')))
  assert.throws(() => checkDerivedName('Database', objectNameFor('c'.repeat(50), 'r'.repeat(20))), /The Database name ".*" derived from the cluster and PostgreSQL names would be invalid: it must be at most 63 characters \(got 71\)\. Use a shorter/)
})
