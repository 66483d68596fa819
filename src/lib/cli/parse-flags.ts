import type {FlagSpec, FlagSpecs, FlagValues} from './flag-spec.ts'

/**
 * Parses `argv` against flag declarations the way oclif would, for the plain cases only: `--name
 * value`, `--name=value`, `-c value`, `--switch`, each flag at most once, values and environment
 * variables that pass the declared checks. Anything else (a help request, an unknown or repeated
 * flag, an argument, an invalid value…) returns undefined and the caller hands the command line
 * to oclif, whose messages and exit codes stay the only ones a user sees.
 * test/unit/parse-flags.test.ts checks every accepted command line against oclif's own parse.
 */
export function parseFlagsPlainly<T extends FlagSpecs>(argv: readonly string[], specs: T, env: NodeJS.ProcessEnv = process.env): FlagValues<T> | undefined {
  const byChar = new Map(Object.entries(specs).flatMap(([name, spec]) => (spec.char ? [[spec.char, name] as const] : [])))
  const given = new Map<string, string | true>()
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    let name: string | undefined
    let inline: string | undefined
    if (token.startsWith('--')) {
      const eq = token.indexOf('=')
      name = eq < 0 ? token.slice(2) : token.slice(2, eq)
      inline = eq < 0 ? undefined : token.slice(eq + 1)
    } else if (/^-[a-zA-Z]$/.test(token)) {
      name = byChar.get(token[1])
    }
    if (name === undefined || !Object.hasOwn(specs, name) || given.has(name)) return undefined
    if (specs[name].type === 'boolean') {
      if (inline !== undefined) return undefined
      given.set(name, true)
      continue
    }
    const value = inline ?? argv[++i]
    if (value === undefined || value === '' || value.startsWith('-')) return undefined
    given.set(name, value)
  }
  const values: Record<string, string | number | boolean | undefined> = {}
  for (const [name, spec] of Object.entries(specs)) {
    const fromEnv = spec.env ? env[spec.env] : undefined
    const input = given.get(name) ?? (fromEnv === '' ? undefined : fromEnv)
    const value = input === undefined ? spec.default : valueOf(spec, input)
    if (value === null) return undefined
    values[name] = value
  }
  return values as FlagValues<T>
}

/** The flag's value from its text (or `true`: a switch given), null when oclif would refuse it. */
function valueOf(spec: FlagSpec, input: string | true): string | number | boolean | null {
  switch (spec.type) {
    case 'boolean':
      // oclif reads a switch's environment variable as true only for these words, false otherwise.
      return input === true || ['1', 'true', 'y', 'yes'].includes(input.toLowerCase())
    case 'integer': {
      if (input === true || !/^-?\d+$/.test(input)) return null
      const number = Number.parseInt(input, 10)
      if ((spec.min !== undefined && number < spec.min) || (spec.max !== undefined && number > spec.max)) return null
      return number
    }
    case 'string':
      if (input === true || (spec.options && !spec.options.includes(input))) return null
      return input
  }
}
