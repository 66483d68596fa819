// /readyz names failed checks with their error text (internal hosts, causes): only for a peer on
// this machine. Anyone else — the kubelet included — gets the status word (finding 9 of #14).
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {networkInterfaces} from 'node:os'
import {after, before, test} from 'node:test'
import {harness} from '../support/kube.ts'
import {REPO_ROOT, kmcpCommand} from '../support/mcp.ts'

const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address
let child: ReturnType<typeof spawn> | undefined
let port = 0

before(async () => {
  if (!external) return
  // Listening on every address needs --insecure-no-auth; the readiness answer is the same with OAuth.
  const cmd = kmcpCommand('serve', '--transport', 'http', '--host', '0.0.0.0', '--port', '0', '--insecure-no-auth', '--kubeconfig', harness().kubeconfigPath)
  child = spawn(cmd.command, cmd.args, {cwd: REPO_ROOT, env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp'}, stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start: ${stderr}`)), 20_000)
    child!.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(stderr)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    })
  })
})

after(() => {
  child?.kill('SIGTERM')
})

test('/readyz from a non-loopback address: the status word only; from loopback: the checks', async (t) => {
  if (!external) return t.skip('this machine has no non-loopback IPv4 address to connect from')
  const remote = await fetch(`http://${external}:${port}/readyz`)
  const remoteBody = (await remote.json()) as Record<string, unknown>
  assert.deepEqual(Object.keys(remoteBody), ['status'], JSON.stringify(remoteBody))
  assert.ok(remoteBody.status === 'ready' || remoteBody.status === 'not ready')
  const local = await fetch(`http://127.0.0.1:${port}/readyz`)
  const localBody = (await local.json()) as {checks?: Array<{name: string}>}
  assert.ok(localBody.checks?.some((c) => c.name === 'kubernetes'), JSON.stringify(localBody))
  assert.equal(remote.status, local.status)
})
