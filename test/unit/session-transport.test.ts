// The transport wrapper that makes server request ids unique per replica and knows which client
// requests are in flight (shutdown answers them; a dead replica's are reported by another).
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {InMemoryTransport} from '@modelcontextprotocol/sdk/inMemory.js'
import type {JSONRPCMessage, RequestId} from '@modelcontextprotocol/sdk/types.js'
import {SessionTransport, tagOfServerRequestId} from '../../src/lib/server/session-transport.ts'

async function pair() {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  const fromServer: JSONRPCMessage[] = []
  const toServer: JSONRPCMessage[] = []
  const events: string[] = []
  const wrapped = new SessionTransport(serverSide, 'r1.1', {
    requestStarted: (id: RequestId, method: string) => void events.push(`start ${String(id)} ${method}`),
    requestEnded: (id: RequestId) => void events.push(`end ${String(id)}`),
    foreignResponse: (message, tag) => void events.push(`foreign ${tag} ${String((message as {id: RequestId}).id)}`),
  })
  clientSide.onmessage = (message) => void fromServer.push(message)
  wrapped.onmessage = (message) => void toServer.push(message)
  await clientSide.start()
  await wrapped.start()
  const settle = () => new Promise((r) => setImmediate(r))
  return {clientSide, wrapped, fromServer, toServer, events, settle}
}

test('server request ids carry the instance tag out, and come back as the SDK sent them', async () => {
  const {clientSide, wrapped, fromServer, toServer, events, settle} = await pair()
  await wrapped.send({jsonrpc: '2.0', id: 0, method: 'elicitation/create', params: {}})
  await settle()
  assert.deepEqual(fromServer.map((m) => (m as {id: RequestId}).id), ['kmcp:r1.1:0'])
  assert.equal(tagOfServerRequestId('kmcp:r1.1:0'), 'r1.1')
  await clientSide.send({jsonrpc: '2.0', id: 'kmcp:r1.1:0', result: {action: 'accept'}})
  await clientSide.send({jsonrpc: '2.0', id: 'kmcp:host-b.4:2', result: {action: 'decline'}})
  await settle()
  assert.deepEqual(toServer, [{jsonrpc: '2.0', id: 0, result: {action: 'accept'}}], 'only its own answer reaches this server, under its own id')
  assert.deepEqual(events, ['foreign host-b.4 kmcp:host-b.4:2'], 'the answer for another instance is handed on')
})

test('client requests are in flight from arrival until their response or cancellation', async () => {
  const {clientSide, wrapped, events, settle} = await pair()
  await clientSide.send({jsonrpc: '2.0', id: 7, method: 'tools/call', params: {name: 'x'}})
  await clientSide.send({jsonrpc: '2.0', id: 8, method: 'tools/call', params: {name: 'y'}})
  await settle()
  assert.deepEqual(wrapped.unfinished(), [7, 8])
  await wrapped.send({jsonrpc: '2.0', id: 7, result: {content: []}})
  await clientSide.send({jsonrpc: '2.0', method: 'notifications/cancelled', params: {requestId: 8}})
  await settle()
  assert.deepEqual(wrapped.unfinished(), [])
  assert.deepEqual(events, ['start 7 tools/call', 'start 8 tools/call', 'end 7', 'end 8'])
})

test('a request whose start hook returns a promise reaches the server once it settles, and what follows waits behind it', async () => {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  const delivered: string[] = []
  let record!: () => void
  const recorded = new Promise<void>((resolve) => (record = resolve))
  const wrapped = new SessionTransport(serverSide, 'r1.1', {
    requestStarted: (_id: RequestId, method: string) => (method === 'tools/call' ? recorded : undefined),
  })
  wrapped.onmessage = (message) => void delivered.push('method' in message ? `${message.method} ${String((message as {id?: RequestId}).id ?? '')}`.trim() : 'response')
  await clientSide.start()
  await wrapped.start()
  const settle = () => new Promise((r) => setImmediate(r))
  await clientSide.send({jsonrpc: '2.0', id: 1, method: 'ping'})
  await clientSide.send({jsonrpc: '2.0', id: 2, method: 'tools/call', params: {name: 'x'}})
  await clientSide.send({jsonrpc: '2.0', method: 'notifications/cancelled', params: {requestId: 2}})
  await clientSide.send({jsonrpc: '2.0', id: 3, method: 'ping'})
  await settle()
  assert.deepEqual(delivered, ['ping 1'], 'the call and everything after it wait for the hook')
  assert.deepEqual(wrapped.unfinished(), [1, 2, 3], 'in flight from arrival')
  record()
  await settle()
  assert.deepEqual(delivered, ['ping 1', 'tools/call 2', 'notifications/cancelled', 'ping 3'], 'then delivered in arrival order')
  assert.deepEqual(wrapped.unfinished(), [1, 3])
})
