// The user id derived from a verified identity: `{sanitized username}-{issuer hash}`, an RFC 1123 label.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import fc from 'fast-check'
import {sanitizeUsername, shortHash, userIdFor, usernameClaim} from '../../src/lib/auth/user-hash.ts'
import {rfc1123Problem} from '../../src/lib/tools/validation.ts'

test('the username claim is the first non-empty of preferred_username, username, name, email, sub', () => {
  assert.equal(usernameClaim({sub: 's', email: 'e@x', name: 'n', username: 'u', preferred_username: 'p'}), 'p')
  assert.equal(usernameClaim({sub: 's', email: 'e@x', name: 'n', username: 'u', preferred_username: '  '}), 'u')
  assert.equal(usernameClaim({sub: 's', email: 'e@x', name: 42}), 'e@x', 'non-strings are skipped')
  assert.equal(usernameClaim({}), '')
})

test('sanitizing keeps the local part, lower-cases and collapses everything else to "-"', () => {
  assert.equal(sanitizeUsername('Jane.Doe@example.com'), 'jane-doe')
  assert.equal(sanitizeUsername('__a__b__'), 'a-b')
  assert.equal(sanitizeUsername('@example.com'), 'user')
  assert.equal(sanitizeUsername(''), 'user')
  assert.equal(sanitizeUsername('x'.repeat(80)).length, 50)
})

test('the issuer hash is six base-62 digits, stable, and differs between issuers', () => {
  assert.match(shortHash('https://a.example.com'), /^[0-9A-Za-z]{6}$/)
  assert.equal(shortHash('https://a.example.com'), shortHash('https://a.example.com'))
  assert.notEqual(shortHash('https://a.example.com'), shortHash('https://b.example.com'))
  assert.equal(shortHash('x', 10).length, 10)
  const alice = {preferred_username: 'alice'}
  assert.notEqual(userIdFor(alice, 'https://a.example.com'), userIdFor(alice, 'https://b.example.com'))
})

test('every user id is a valid RFC 1123 label, whatever the claims (property)', () => {
  fc.assert(
    fc.property(fc.string({maxLength: 120}), fc.webUrl(), (name, issuer) => {
      const id = userIdFor({preferred_username: name}, issuer)
      const problem = rfc1123Problem(id)
      assert.equal(problem, undefined, `${JSON.stringify(name)} → ${id}: ${problem}`)
    }),
    {numRuns: 300},
  )
})
