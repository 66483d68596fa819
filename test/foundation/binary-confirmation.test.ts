// The single executable validates the human's confirmation with the Ajv validator it loads on
// first use (src/lib/server/json-schema-validator.ts): the SDK's eager import of it is stubbed out
// at build time (scripts/build-binary.ts), so this proves the lazy path works in what ships.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import {ElicitRequestSchema} from '@modelcontextprotocol/sdk/types.js'
import {createNamespace, harness, kubeRequest} from '../support/kube.ts'
import {makeHealthyCluster} from '../support/operator.ts'
import {REPO_ROOT, callTool, textOf} from '../support/mcp.ts'

const binary = join(REPO_ROOT, 'dist', 'kmcp')
const skip = existsSync(binary) ? false : 'dist/kmcp is missing (npm test builds it)'

let namespace: string
let client: Client
const questions: string[] = []

before(async () => {
  if (skip) return
  namespace = await createNamespace('bin-confirm')
  await makeHealthyCluster(namespace, 'orders-db', {instances: 1})
  client = new Client({name: 'binary-confirmation', version: '1.0.0'}, {capabilities: {elicitation: {}}})
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    questions.push(String((request.params as {message?: string}).message ?? ''))
    return {action: 'accept', content: {confirm: true}}
  })
  await client.connect(new StdioClientTransport({command: binary, args: ['serve', '--transport', 'stdio', '--kubeconfig', harness().kubeconfigFor('admin')], env: {KMCP_LOG_LEVEL: 'error'}, stderr: 'ignore'}))
})

after(() => client?.close())

test('dist/kmcp asks the human and accepts a valid answer', {skip}, async () => {
  const result = await callTool(client, 'hibernate_postgres_cluster', {name: 'orders-db', namespace})
  assert.notEqual(result.isError, true, textOf(result))
  assert.equal((result.structuredContent as {confirmed_by?: string}).confirmed_by, 'human')
  assert.equal(questions.length, 1)
  const stored = await kubeRequest('admin', 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${namespace}/clusters/orders-db`)
  assert.equal(stored.body.metadata.annotations?.['cnpg.io/hibernation'], 'on')
})
