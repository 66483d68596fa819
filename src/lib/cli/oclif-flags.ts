import {Flags} from '@oclif/core'
import type {Interfaces} from '@oclif/core'
import type {FlagSpec, FlagSpecs, FlagValues} from './flag-spec.ts'

type AlphabetLowercase = Interfaces.AlphabetLowercase

/** oclif flags from plain declarations (flag-spec.ts): what a command class puts in `static flags`. */
export function oclifFlags<T extends FlagSpecs>(specs: T): Interfaces.FlagInput<FlagValues<T>> {
  // Each flag's value type follows its spec's `type` (and `default`); oclif's builders cannot infer
  // that across the mapping, so the object is typed once here. test/unit/parse-flags.test.ts
  // compares oclif's parse of these flags with the values FlagValues promises.
  return Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, oclifFlag(spec)])) as Interfaces.FlagInput<FlagValues<T>>
}

function oclifFlag(spec: FlagSpec) {
  const common = {summary: spec.summary, env: spec.env, char: spec.char as AlphabetLowercase | undefined}
  switch (spec.type) {
    case 'boolean':
      return Flags.boolean({...common, default: spec.default})
    case 'integer':
      return Flags.integer({...common, default: spec.default, min: spec.min, max: spec.max})
    case 'string':
      return Flags.string({...common, default: spec.default, options: spec.options ? [...spec.options] : undefined})
  }
}
