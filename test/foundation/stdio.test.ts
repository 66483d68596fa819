import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {kmcpCommand, REPO_ROOT} from '../support/mcp.ts'

/** Talks raw newline-delimited JSON-RPC to a `kmcp serve` process, to test what an SDK client cannot send. */
async function rawSession(lines: string[], expectedReplies: number): Promise<{replies: Array<Record<string, unknown>>; stdout: string; stderr: string; code: number | null}> {
  const cmd = kmcpCommand('serve', '--kubeconfig', '/nonexistent/kubeconfig')
  const child = spawn(cmd.command, cmd.args, {cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  const done = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
      // Count complete lines only: a long reply (tools/list) arrives in several chunks.
      if (stdout.split('\n').slice(0, -1).filter(Boolean).length >= expectedReplies) resolve()
    })
  })
  for (const line of lines) child.stdin.write(line + '\n')
  await Promise.race([done, new Promise((r) => setTimeout(r, 20_000))])
  child.stdin.end()
  // 'close', not 'exit': the process can exit before its last stdout chunks have been read here.
  const [code] = (await once(child, 'close')) as [number | null]
  return {replies: stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), stdout, stderr, code}
}

const initialize = JSON.stringify({jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-06-18', capabilities: {}, clientInfo: {name: 'raw', version: '1'}}})
const initialized = JSON.stringify({jsonrpc: '2.0', method: 'notifications/initialized'})

test('malformed JSON-RPC on stdio gets an error response and the server keeps serving', async () => {
  const session = await rawSession(
    [initialize, initialized, '{this is not json', JSON.stringify({hello: 'world'}), JSON.stringify({jsonrpc: '2.0', id: 7, method: 'tools/list'})],
    4,
  )
  const parseError = session.replies.find((r) => (r.error as {code?: number} | undefined)?.code === -32700)
  assert.ok(parseError, `no -32700 reply in ${session.stdout}`)
  assert.equal(parseError.id, null)
  const invalid = session.replies.find((r) => (r.error as {code?: number} | undefined)?.code === -32600)
  assert.ok(invalid, 'no -32600 reply for a non-JSON-RPC object')
  const list = session.replies.find((r) => r.id === 7)
  assert.ok(list && Array.isArray((list.result as {tools?: unknown[]}).tools), 'tools/list after garbage failed')
  assert.equal(session.code, 0, 'server should exit cleanly when stdin closes')
})

test('stdout carries only JSON-RPC; logs go to stderr', async () => {
  const session = await rawSession([initialize, initialized, JSON.stringify({jsonrpc: '2.0', id: 2, method: 'tools/call', params: {name: 'list_postgres_clusters', arguments: {}}})], 2)
  for (const line of session.stdout.split('\n').filter(Boolean)) assert.equal(JSON.parse(line).jsonrpc, '2.0')
  const call = session.replies.find((r) => r.id === 2)!.result as {isError: boolean; content: Array<{text: string}>}
  assert.equal(call.isError, true)
  assert.match(call.content[0].text, /kubeconfig file \/nonexistent\/kubeconfig \(from --kubeconfig\) does not exist/)
})

test('an unknown method gets a JSON-RPC "method not found" error', async () => {
  const session = await rawSession([initialize, initialized, JSON.stringify({jsonrpc: '2.0', id: 3, method: 'no/such/method'})], 2)
  const reply = session.replies.find((r) => r.id === 3)!
  assert.equal((reply.error as {code: number}).code, -32601)
})
