/** The suites `kmcp test` runs when none is named (auth is added when a token is given). */
export const SUITES_BY_DEFAULT = ['protocol', 'cnpg']
