// The Go peer of the start-up benchmark: containers/kubernetes-mcp-server, the stdio MCP server issue 19
// compares kmcp with. The Go module proxy refuses its module here (403), but the project publishes the
// same release binaries to npm (kubernetes-mcp-server-<os>-<arch>, the packages its npx launcher
// installs), so the benchmark takes the binary from there: `npm pack` checks the registry's integrity
// hash, and the binary is cached in kmcpCacheDir()/bench-peer/<package>-<version>/.
import {execFileSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {kmcpCacheDir, withLock} from '../node/cache.mjs'

export const GO_PEER_VERSION = '0.0.67'

/** npm's names for this machine (the package names follow them). */
function npmPlatform(): string {
  const arch = ({x64: 'amd64', arm64: 'arm64'} as Record<string, string>)[process.arch]
  if (!arch || (process.platform !== 'linux' && process.platform !== 'darwin')) throw new Error(`no kubernetes-mcp-server package for ${process.platform}-${process.arch}`)
  return `${process.platform}-${arch}`
}

/** Path of the Go server's executable, fetched from npm on first use. */
export async function ensureGoPeer(version = GO_PEER_VERSION): Promise<string> {
  const name = `kubernetes-mcp-server-${npmPlatform()}`
  const dir = join(kmcpCacheDir(), 'bench-peer', `${name}-${version}`)
  const binary = join(dir, name)
  if (existsSync(binary)) return binary
  await withLock(join(kmcpCacheDir(), 'bench-peer'), `${name}-${version}`, async () => {
    if (existsSync(binary)) return
    const work = mkdtempSync(join(kmcpCacheDir(), 'bench-peer', '.fetch-'))
    try {
      process.stderr.write(`bench: fetching ${name}@${version} from the npm registry\n`)
      const tarball = execFileSync('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', work], {encoding: 'utf8'}).trim().split('\n').at(-1)!
      execFileSync('tar', ['-xzf', join(work, tarball), '-C', work])
      chmodSync(join(work, 'package', 'bin', name), 0o755)
      mkdirSync(dir, {recursive: true})
      renameSync(join(work, 'package', 'bin', name), binary)
    } finally {
      rmSync(work, {recursive: true, force: true})
    }
  })
  return binary
}

/**
 * A kubeconfig both servers get in the benchmark. The Go server will not start without a current
 * context; its API server address refuses connections at once, so neither server can spend
 * start-up time on the network (neither talks to the API server before a tool call).
 */
export function writeUnreachableKubeconfig(dir: string): string {
  const file = join(dir, 'kubeconfig.yaml')
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: bench, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: bench, user: {token: bench}}]',
      'contexts: [{name: bench, context: {cluster: bench, user: bench, namespace: default}}]',
      'current-context: bench',
      '',
    ].join('\n'),
  )
  return file
}
