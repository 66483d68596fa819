/**
 * CNPG ScheduledBackup schedules: the robfig/cron format WITH a leading seconds field
 * ("sec min hour day-of-month month day-of-week"), or a descriptor such as "@daily" or
 * "@every 1h". A five-field Kubernetes CronJob expression would be read with the fields shifted
 * (minutes as seconds…), so it is refused with the corrected form rather than accepted.
 */

interface FieldRule {
  name: string
  min: number
  max: number
  names?: string[]
}

const FIELDS: FieldRule[] = [
  {name: 'seconds', min: 0, max: 59},
  {name: 'minutes', min: 0, max: 59},
  {name: 'hours', min: 0, max: 23},
  {name: 'day of month', min: 1, max: 31},
  {name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']},
  {name: 'day of week', min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']},
]

const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'])
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/

function valueOf(text: string, rule: FieldRule): number | undefined {
  if (/^[0-9]+$/.test(text)) return Number(text)
  const index = rule.names?.indexOf(text.toUpperCase()) ?? -1
  return index >= 0 ? index + rule.min : undefined
}

function fieldProblem(field: string, rule: FieldRule, dayField: boolean): string | undefined {
  for (const part of field.split(',')) {
    if (part === '?' && dayField) continue
    const [range, step, extra] = part.split('/')
    if (extra !== undefined) return `has more than one "/" in "${part}"`
    if (step !== undefined && (!/^[0-9]+$/.test(step) || Number(step) < 1)) return `has an invalid step "/${step}" (a positive whole number)`
    if (range === '*') continue
    const [startText, endText, more] = range.split('-')
    if (more !== undefined) return `has an invalid range "${range}"`
    const start = valueOf(startText, rule)
    const end = endText === undefined ? start : valueOf(endText, rule)
    if (start === undefined || end === undefined) return `has "${part}", which is not a number${rule.names ? ' or name' : ''}`
    if (start < rule.min || end > rule.max) return `has "${part}" outside ${rule.min}-${rule.max}`
    if (start > end) return `has a range "${range}" whose start is after its end`
  }
  return undefined
}

/** Explains why `schedule` is not a CNPG schedule, or returns undefined. */
export function cronProblem(schedule: string): string | undefined {
  const trimmed = schedule.trim()
  if (trimmed.length === 0) return 'is empty'
  if (trimmed.length > 128) return 'is longer than 128 characters'
  if (trimmed.startsWith('@')) {
    if (DESCRIPTORS.has(trimmed)) return undefined
    const every = /^@every (.+)$/.exec(trimmed)
    if (every && GO_DURATION.test(every[1])) return undefined
    return 'is not a known descriptor (@yearly, @monthly, @weekly, @daily, @hourly, or "@every <duration>" such as "@every 6h")'
  }
  const fields = trimmed.split(/\s+/)
  if (fields.length === 5) {
    return `has 5 fields, like a Kubernetes CronJob; CNPG schedules start with a seconds field, so this would run at the wrong times. Did you mean "0 ${trimmed}"?`
  }
  if (fields.length !== 6) return `has ${fields.length} fields; CNPG needs 6: seconds minutes hours day-of-month month day-of-week (e.g. "0 0 2 * * *" for 02:00 every day)`
  for (let i = 0; i < 6; i++) {
    const problem = fieldProblem(fields[i], FIELDS[i], i === 3 || i === 5)
    if (problem) return `${FIELDS[i].name} field ${problem}`
  }
  return undefined
}
