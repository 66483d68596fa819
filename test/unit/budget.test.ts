// The response budget: lists are cut at item boundaries with a note, other text at the limit.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {applyBudget, RESPONSE_BUDGET} from '../../src/lib/tools/budget.ts'

type Listing = {items: string[]; namespace: string; truncated?: unknown}
const render = (s: Listing) => JSON.stringify(s)
const items = (count: number, size: number) => Array.from({length: count}, (_, i) => `${String(i).padStart(4, '0')}${'x'.repeat(size - 4)}`)

test('a result within the budget is returned unchanged, without a note', () => {
  const structured: Listing = {items: items(3, 10), namespace: 'db'}
  const out = applyBudget({structured, render, listField: 'items', moreHint: 'use continue'}, 1000)
  assert.equal(out.structured, structured)
  assert.equal(out.text, render(structured))
})

test('a long list keeps the largest prefix that fits, and says how many items were left out', () => {
  const structured: Listing = {items: items(100, 50), namespace: 'db'}
  const budget = 1000
  const out = applyBudget({structured, render, listField: 'items', moreHint: 'call again with continue'}, budget)
  assert.ok(out.text.length <= budget, `${out.text.length} > ${budget}`)
  const shown = out.structured.items.length
  assert.ok(shown > 0 && shown < 100)
  assert.deepEqual(out.structured.items, structured.items.slice(0, shown), 'a prefix, item boundaries kept')
  assert.deepEqual(out.structured.truncated, {omitted_items: 100 - shown, shown_items: shown, how_to_get_the_rest: 'call again with continue'})
  // One more item would not have fitted.
  const oneMore = render({...out.structured, items: structured.items.slice(0, shown + 1), truncated: {...(out.structured.truncated as object), omitted_items: 99 - shown, shown_items: shown + 1}})
  assert.ok(oneMore.length > budget)
  assert.equal(structured.items.length, 100, 'the input is not modified')
})

test('text without a list is cut at the budget with a note that counts the omitted characters', () => {
  const structured = {body: 'y'.repeat(5000)}
  const out = applyBudget({structured, render: (s) => s.body, moreHint: 'Ask for less.'}, 1000)
  assert.equal(out.text.length, 1000)
  assert.match(out.text, /\n\n\[Output truncated at 1000 characters: (\d+) of 5000 characters omitted\. Ask for less\.\]$/)
  const omitted = Number(/: (\d+) of 5000/.exec(out.text)?.[1])
  assert.equal(out.text.indexOf('\n\n['), 5000 - omitted, 'the note counts exactly what was cut')
  assert.deepEqual((out.structured as {truncated?: unknown}).truncated, {omitted_characters: omitted, how_to_get_the_rest: 'Ask for less.'})
})

test('when even an empty list does not fit, the text is cut instead', () => {
  const structured: Listing = {items: items(5, 10), namespace: 'n'.repeat(3000)}
  const out = applyBudget({structured, render, listField: 'items', moreHint: 'narrow the query'}, 1000)
  assert.equal(out.text.length, 1000)
  assert.match(out.text, /Output truncated at 1000 characters/)
})

test('the default budget is 25,000 characters', () => {
  assert.equal(RESPONSE_BUDGET, 25_000)
  const out = applyBudget({structured: {body: 'z'.repeat(30_000)}, render: (s) => s.body, moreHint: '-'})
  assert.equal(out.text.length, RESPONSE_BUDGET)
})
