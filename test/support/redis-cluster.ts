// A real Redis Cluster on loopback for tests: `masters` redis-server processes with
// --cluster-enabled yes (Debian's redis-server), joined with `redis-cli --cluster create`, no
// replicas, nothing kept on disk but each node's cluster configuration file.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from './redis.ts'

export interface TestRedisCluster {
  /** redis+cluster://127.0.0.1:<port>,… (kmcp's REDIS_URL form for a Cluster). */
  url: string
  ports: number[]
  /** Runs redis-cli -c (follows redirections) against the first node; returns its output. */
  cli(...args: string[]): string
  stop(): Promise<void>
}

/** Why a Redis Cluster cannot be started here, or undefined when it can (for t.skip). */
export function redisClusterMissing(): string | undefined {
  for (const command of ['redis-server', 'redis-cli']) {
    if (spawnSync('sh', ['-c', `command -v ${command}`], {encoding: 'utf8'}).stdout.trim() === '') return `${command} is not installed (Debian package redis-server; npm test installs it when run as root)`
  }
  return undefined
}

export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'kmcp-redis-cluster-'))
  const ports = await Promise.all(Array.from({length: masters}, () => freePort()))
  const children: ChildProcess[] = []
  const stop = async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, {recursive: true, force: true})
  }
  const cli = (port: number, ...args: string[]) => spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {encoding: 'utf8', timeout: 30_000})
  try {
    for (const port of ports) {
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {stdio: 'ignore'})
      children.push(child)
    }
    await until(() => ports.every((port) => cli(port, 'PING').stdout.trim() === 'PONG'), 'every node answers PING')
    const created = cli(ports[0], '--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-yes')
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.stdout}${created.stderr}`)
    await until(() => ports.every((port) => /cluster_state:ok/.test(cli(port, 'CLUSTER', 'INFO').stdout)), 'cluster_state:ok on every node')
  } catch (error) {
    await stop()
    throw error
  }
  return {url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`, ports, cli: (...args) => cli(ports[0], '-c', ...args).stdout.trim(), stop}
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Redis Cluster: no ${what} within 15 s`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
