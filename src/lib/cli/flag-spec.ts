// Command-line flags declared as plain data, so that one declaration serves two parsers: oclif's (the
// command, its help and its error messages: oclif-flags.ts) and the small one the single executable
// uses to start `kmcp serve` without loading oclif at all (parse-flags.ts, serve-fast-path.ts).
// Start-up is felt by every stdio session, and oclif's modules are a third of it.

interface CommonSpec {
  /** One line for `--help`. */
  summary: string
  /** Environment variable read when the flag is not given (an empty value counts as unset, as in oclif). */
  env?: string
  /** Single-letter alias (`-t`). */
  char?: string
}

export interface StringFlagSpec extends CommonSpec {
  type: 'string'
  default?: string
  /** The only values accepted. */
  options?: readonly string[]
}

export interface IntegerFlagSpec extends CommonSpec {
  type: 'integer'
  default?: number
  min?: number
  max?: number
}

export interface BooleanFlagSpec extends CommonSpec {
  type: 'boolean'
  default: boolean
}

export type FlagSpec = StringFlagSpec | IntegerFlagSpec | BooleanFlagSpec
export type FlagSpecs = Readonly<Record<string, FlagSpec>>

/** The parsed values of a set of flags, typed from their declarations. */
export type FlagValues<T extends FlagSpecs> = {
  -readonly [K in keyof T]: T[K] extends BooleanFlagSpec
    ? boolean
    : T[K] extends IntegerFlagSpec
      ? T[K] extends {default: number}
        ? number
        : number | undefined
      : T[K] extends {default: string}
        ? string
        : string | undefined
}
