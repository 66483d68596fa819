// Builds dist/kmcp, the single executable. Run with bun (npm run build:binary does).
// Options: --outfile PATH, --target bun-linux-x64|bun-linux-arm64|bun-darwin-arm64|…, --no-bytecode
import {mkdirSync} from 'node:fs'
import {dirname, resolve} from 'node:path'

declare const Bun: {
  build(options: Record<string, unknown>): Promise<{success: boolean; logs: unknown[]; outputs: Array<{path: string}>}>
}

const args = process.argv.slice(2)
const option = (name: string) => {
  const index = args.indexOf(name)
  return index >= 0 ? args[index + 1] : undefined
}
const root = resolve(import.meta.dir, '..')
const outfile = resolve(root, option('--outfile') ?? 'dist/kmcp')
const target = option('--target') ?? `bun-${process.platform}-${process.arch}`
const bytecode = !args.includes('--no-bytecode')
mkdirSync(dirname(outfile), {recursive: true})

// The tools/list answers, computed now from the sources being bundled and carried by the binary
// in place of the empty src/lib/server/tool-list-snapshot.ts (see there): start-up converts no schema.
const snapshotModule = resolve(root, 'src/lib/server/tool-list-snapshot.ts')
const {computeToolListAnswers} = await import('../src/lib/server/tool-list.ts')
const {createMcpServer} = await import('../src/lib/server/mcp-server.ts')
const toolListAnswers = await computeToolListAnswers(createMcpServer)

// Bun maps `undici` to a built-in stub whose Agent ignores TLS options (CA, client certificates),
// which would break every TLS connection to a Kubernetes API server. Rewriting the import to the
// package's file makes Bun bundle the real undici from node_modules.
const sourcePlugin = {
  name: 'real-undici-and-tool-list',
  setup(build: {onLoad(options: {filter: RegExp}, callback: (args: {path: string}) => Promise<{contents: string; loader: string}>): void}) {
    build.onLoad({filter: /\.(m?js|ts)$/}, async ({path}) => {
      if (path === snapshotModule) return {contents: `export const toolListSnapshot = ${JSON.stringify(toolListAnswers)}`, loader: 'ts'}
      const text = await (await import('node:fs/promises')).readFile(path, 'utf8')
      const loader = path.endsWith('.ts') ? 'ts' : 'js'
      if (!text.includes('undici')) return {contents: text, loader}
      return {contents: text.replace(/(from\s*|import\s*\(\s*|require\s*\(\s*)(['"])undici\2/g, '$1$2undici/index.js$2'), loader}
    })
  },
}

const started = Date.now()
const result = await Bun.build({
  entrypoints: [resolve(root, 'src/main.ts')],
  compile: {target, outfile},
  minify: true,
  bytecode,
  format: 'esm',
  splitting: true,
  sourcemap: 'none',
  // oclif guards an optional require('typescript'); bundling it would add 17 MB and slow start-up.
  external: ['typescript', 'ts-node', 'tsx'],
  plugins: [sourcePlugin],
})
if (!result.success) {
  for (const entry of result.logs) console.error(entry)
  console.error('build-binary: bun build failed (messages above)')
  process.exit(1)
}
console.error(`build-binary: wrote ${outfile} (${target}${bytecode ? ', bytecode' : ''}, tools/list snapshot of ${Object.keys(toolListAnswers).length} tool sets) in ${((Date.now() - started) / 1000).toFixed(1)} s`)
