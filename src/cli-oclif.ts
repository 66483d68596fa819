import {dirname, extname} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Config, flush, handle, run, settings} from '@oclif/core'
import type {Interfaces} from '@oclif/core'
import pjson from '../package.json' with {type: 'json'}

/**
 * Runs a kmcp command through oclif (cli.ts calls it when nothing faster answers). oclif finds the
 * commands through its explicit discovery strategy: it imports commands.ts (commands.js in tsc's
 * output) from the folder of this module, which must therefore stay beside it. The single executable
 * carries that module as a second entry point beside this code (scripts/build-binary.ts), in the
 * executable's virtual file system, which has no package.json: so the package.json handed to oclif
 * is the one imported here, with the target rewritten to where the module really is.
 */
export async function runWithOclif(argv: string[]): Promise<void> {
  const here = fileURLToPath(import.meta.url)
  const commands = {strategy: 'explicit', target: `./commands${extname(here)}`, identifier: 'COMMANDS'} as const
  const manifest = {...pjson, oclif: {...pjson.oclif, commands}} as unknown as Interfaces.PJSON
  // The commands module is always the JavaScript or TypeScript that is running: never let oclif
  // look for TypeScript sources through tsconfig (it would, under NODE_ENV=development or test).
  settings.enableAutoTranspile = false
  const config = await Config.load({pjson: manifest, root: dirname(here), ignoreManifest: true, userPlugins: false, devPlugins: false})
  try {
    await run(argv, config)
    await flush()
  } catch (error) {
    await handle(error instanceof Error ? error : new Error(String(error)))
  }
}
