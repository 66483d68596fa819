import {dirname} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Config, Plugin, flush, handle, run} from '@oclif/core'
import type {Interfaces} from '@oclif/core'
import pjson from '../../../package.json' with {type: 'json'}
import {COMMANDS} from '../../commands.ts'

/**
 * Runs a kmcp command through oclif. The command map is handed to oclif directly instead of letting
 * it import `oclif.commands.target` by path, because inside the single executable there is no file to
 * import and no package.json on disk (see docs/single-binary.md).
 */
export async function runWithOclif(argv: string[]): Promise<void> {
  const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))))
  const manifest = pjson as unknown as Interfaces.PJSON
  const plugin = new Plugin({ignoreManifest: true, isRoot: true, pjson: manifest, root})
  // `commandCache` is private in @oclif/core (pinned exactly in package.json); setting it before
  // load() makes explicit discovery use our static map. test/binary.test.ts guards this.
  ;(plugin as unknown as {commandCache: typeof COMMANDS}).commandCache = COMMANDS
  await plugin.load()
  const config = await Config.load({pjson: manifest, plugins: new Map([[plugin.name, plugin]]), root})
  try {
    await run(argv, config)
    await flush()
  } catch (error) {
    await handle(error instanceof Error ? error : new Error(String(error)))
  }
}
