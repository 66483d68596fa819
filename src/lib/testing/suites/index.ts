import type {TestPlugin} from '../plugin.ts'
import {authSuite} from './auth.ts'
import {cnpgSuite} from './cnpg.ts'
import {withDiagnosis} from './cnpg-diagnose.ts'
import {protocolSuite} from './protocol.ts'

/**
 * The built-in suites. Imported statically: inside the single executable there is no file system
 * to discover them from.
 */
export const BUILT_IN_SUITES: Record<string, TestPlugin[]> = {
  protocol: protocolSuite,
  cnpg: withDiagnosis(cnpgSuite),
  auth: authSuite,
}
