// CNPG ScheduledBackup schedules: six fields with seconds first, or a descriptor.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {cronProblem} from '../../src/lib/tools/cnpg/cron.ts'

test('six-field schedules, names, ranges, steps and lists are accepted', () => {
  for (const schedule of ['0 0 2 * * *', '0 */15 * * * *', '30 0 1-5 * JAN-MAR mon-fri', '0 0 0 1,15 * ?', '0 0 12 ? * SUN', '  0 0 2 * * *  ', '0 0-30/10 * * * *']) {
    assert.equal(cronProblem(schedule), undefined, schedule)
  }
})

test('descriptors and @every with a Go duration are accepted; unknown descriptors are refused', () => {
  for (const schedule of ['@daily', '@hourly', '@weekly', '@monthly', '@yearly', '@annually', '@midnight', '@every 6h', '@every 1h30m', '@every 1.5s']) {
    assert.equal(cronProblem(schedule), undefined, schedule)
  }
  assert.match(cronProblem('@fortnightly') ?? '', /not a known descriptor.*@every <duration>/)
  assert.match(cronProblem('@every six hours') ?? '', /not a known descriptor/)
  assert.match(cronProblem('@every 6') ?? '', /not a known descriptor/, 'a duration needs a unit')
})

test('a five-field Kubernetes CronJob expression is refused with the corrected form', () => {
  assert.equal(cronProblem('0 2 * * *'), 'has 5 fields, like a Kubernetes CronJob; CNPG schedules start with a seconds field, so this would run at the wrong times. Did you mean "0 0 2 * * *"?')
})

test('each field problem names the field and the bad part', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /^is empty$/],
    ['   ', /^is empty$/],
    ['0 0 2 * *  * *', /has 7 fields; CNPG needs 6/],
    ['60 0 2 * * *', /^seconds field has "60" outside 0-59$/],
    ['0 60 2 * * *', /^minutes field has "60" outside 0-59$/],
    ['0 0 24 * * *', /^hours field has "24" outside 0-23$/],
    ['0 0 2 0 * *', /^day of month field has "0" outside 1-31$/],
    ['0 0 2 * 13 *', /^month field has "13" outside 1-12$/],
    ['0 0 2 * * 7', /^day of week field has "7" outside 0-6$/],
    ['0 0 2 * FOO *', /^month field has "FOO", which is not a number or name$/],
    ['x 0 2 * * *', /^seconds field has "x", which is not a number$/],
    ['0 0 5-2 * * *', /^hours field has a range "5-2" whose start is after its end$/],
    ['0 0 1-2-3 * * *', /^hours field has an invalid range "1-2-3"$/],
    ['0 */0 * * * *', /^minutes field has an invalid step "\/0"/],
    ['0 */2/3 * * * *', /^minutes field has more than one "\/"/],
    ['? 0 2 * * *', /^seconds field has "\?"/],
    ['0 0 2 * * * '.repeat(20), /longer than 128 characters/],
  ]
  for (const [schedule, expected] of cases) assert.match(cronProblem(schedule) ?? '(accepted)', expected, JSON.stringify(schedule))
})
