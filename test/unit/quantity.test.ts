// Kubernetes quantities, storage sizes, RFC 3339 times and label syntax (src/lib/tools/validation.ts).
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {compareQuantities, labelKeyProblem, labelValueProblem, parseQuantity, quantityToBytes, rfc3339Problem, storageSizeProblem, type Quantity} from '../../src/lib/tools/validation.ts'

function quantity(text: string): Quantity {
  const parsed = parseQuantity(text)
  if ('problem' in parsed) assert.fail(`${text} ${parsed.problem}`)
  return parsed.quantity
}
const bytes = (text: string) => quantityToBytes(quantity(text))

test('binary, decimal, exponent and milli suffixes give exact byte counts', () => {
  assert.equal(bytes('1Ki'), 1024n)
  assert.equal(bytes('10Gi'), 10n * 2n ** 30n)
  assert.equal(bytes('1.5Gi'), 3n * 2n ** 29n)
  assert.equal(bytes('1G'), 1_000_000_000n)
  assert.equal(bytes('1e3'), 1000n)
  assert.equal(bytes('2147483648'), 2147483648n)
  assert.equal(bytes('.5k'), 500n)
  assert.equal(bytes('1500m'), 2n, 'fractions of a byte round up, as Kubernetes does')
  assert.equal(bytes('1E'), 10n ** 18n)
  assert.equal(bytes('1Ei'), 2n ** 60n)
})

test('comparison is exact across units', () => {
  assert.equal(compareQuantities(quantity('1G'), quantity('1Gi')), -1)
  assert.equal(compareQuantities(quantity('1000M'), quantity('1G')), 0)
  assert.equal(compareQuantities(quantity('1024Mi'), quantity('1Gi')), 0)
  assert.equal(compareQuantities(quantity('500m'), quantity('0.5')), 0)
  assert.equal(compareQuantities(quantity('20Gi'), quantity('10Gi')), 1)
  assert.equal(compareQuantities(quantity('-1'), quantity('0')), -1)
})

test('malformed quantities explain what is wrong', () => {
  const problem = (text: string) => {
    const parsed = parseQuantity(text)
    return 'problem' in parsed ? parsed.problem : '(accepted)'
  }
  assert.match(problem(''), /^is empty/)
  assert.match(problem('10 Gi'), /must not contain spaces/)
  assert.match(problem('10GB'), /unknown unit \(use Ki, Mi, Gi/)
  assert.match(problem('ten'), /unknown unit|not a number/)
  assert.match(problem('1e99'), /exponent out of range/)
  assert.match(problem('1'.repeat(65)), /longer than 64 characters/)
  assert.match(problem('1.2.3'), /not a number followed by an optional unit/)
})

test('storage sizes must be positive whole bytes of at least 1Mi', () => {
  assert.equal(storageSizeProblem('10Gi'), undefined)
  assert.equal(storageSizeProblem('1Mi'), undefined)
  assert.match(storageSizeProblem('0') ?? '', /greater than zero/)
  assert.match(storageSizeProblem('-5Gi') ?? '', /greater than zero/)
  assert.match(storageSizeProblem('100m') ?? '', /not a whole number of bytes.*"m" suffix/)
  assert.match(storageSizeProblem('512Ki') ?? '', /smaller than 1Mi/)
  assert.match(storageSizeProblem('10 GB') ?? '', /must not contain spaces/)
})

test('RFC 3339 date-times need a zone and real calendar values', () => {
  for (const ok of ['2026-11-24T15:30:00Z', '2026-11-24T16:30:00+01:00', '2024-02-29T00:00:00.123456789Z', '2026-12-31 23:59:60z']) assert.equal(rfc3339Problem(ok), undefined, ok)
  assert.match(rfc3339Problem('2026-11-24T15:30:00') ?? '', /not an RFC 3339 date-time with a time zone/)
  assert.match(rfc3339Problem('2026-11-24') ?? '', /not an RFC 3339/)
  assert.match(rfc3339Problem('2026-13-01T00:00:00Z') ?? '', /month 13/)
  assert.match(rfc3339Problem('2025-02-29T00:00:00Z') ?? '', /day 29, which does not exist in 2025-02/)
  assert.match(rfc3339Problem('2026-01-01T24:00:00Z') ?? '', /time of day out of range/)
})

test('label keys and values follow the Kubernetes syntax', () => {
  for (const key of ['app', 'app.kubernetes.io/name', 'node-role.kubernetes.io/db', 'A_b.c-1']) assert.equal(labelKeyProblem(key), undefined, key)
  assert.match(labelKeyProblem('/name') ?? '', /prefix/)
  assert.match(labelKeyProblem('Example.com/name') ?? '', /prefix/)
  assert.match(labelKeyProblem('example.com/') ?? '', /name part/)
  assert.match(labelKeyProblem('-app') ?? '', /name part/)
  assert.match(labelKeyProblem('a'.repeat(64)) ?? '', /name part/)
  assert.equal(labelValueProblem(''), undefined, 'an empty label value is allowed')
  assert.equal(labelValueProblem('v1.2_3'), undefined)
  assert.match(labelValueProblem('has space') ?? '', /at most 63 letters/)
  assert.match(labelValueProblem('x'.repeat(64)) ?? '', /at most 63/)
})
