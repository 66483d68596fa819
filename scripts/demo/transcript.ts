// Records what an agent sees when asked to "create a cluster with 3 instances, add a role and a
// database, then switch over": each MCP tool call and kmcp's full answer, on the real node, written
// as Markdown (docs/demo-transcript.md). Run with `npm run demo -- --transcript docs/demo-transcript.md`.
import {writeFileSync} from 'node:fs'
import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {callWaiting, createArgsForNode} from '../../test/real-node/helpers.ts'
import {textOf} from '../../test/support/mcp.ts'

interface Step {
  tool: string
  args: Record<string, unknown>
  answer: string
  seconds: number
  /** Seconds since the scenario started, when the call was made. */
  at: number
  isError: boolean
}

export async function recordTranscript(client: Client, namespace: string, file: string, say: (line: string) => void): Promise<void> {
  const steps: Step[] = []
  const scenarioStart = Date.now()
  const call = async (tool: string, args: Record<string, unknown>): Promise<CallToolResult> => {
    say(`-> ${tool}`)
    const started = Date.now()
    const result = await callWaiting(client, tool, args)
    steps.push({tool, args, answer: textOf(result), seconds: (Date.now() - started) / 1000, at: (started - scenarioStart) / 1000, isError: result.isError === true})
    if (result.isError) throw new Error(`${tool} failed: ${textOf(result)}`)
    return result
  }
  const name = 'shop-db'
  try {
    await call('create_postgres_cluster', {...(await createArgsForNode(name, namespace, 3)), database: 'shop', owner: 'shop', wait: true, timeout: 300})
    await call('create_postgres_role', {cluster_name: name, role_name: 'analyst', in_roles: ['pg_read_all_data'], connection_limit: 5, namespace})
    await call('create_postgres_database', {cluster_name: name, database_name: 'analytics', owner: 'analyst', namespace})
    await call('get_cluster_status', {name, namespace})
    const replica = `${name}-2`
    await call('promote_cluster_instance', {name, namespace, instance: replica})
    // What an agent does next: check until the operator reports the new primary, healthy.
    const deadline = Date.now() + 180_000
    for (;;) {
      const status = textOf((await client.callTool({name: 'get_cluster_status', arguments: {name, namespace}})) as CallToolResult)
      // CNPG reports the healthy phase while the old primary still restarts as a replica: wait for 3/3 too.
      if (status.includes(`Current Primary: ${replica}`) && /healthy state/.test(status) && /Instances: 3\/3 ready/.test(status) && !/Target Primary/.test(status)) break
      if (Date.now() > deadline) throw new Error(`the switchover did not finish within 180 s:\n${status}`)
      await new Promise((resolve) => setTimeout(resolve, 2000))
    }
    await call('get_cluster_status', {name, namespace, detail_level: 'detailed'})
    // The operator applies roles and databases on its own schedule (the database waits for its
    // owner role): show the first answer, then the one once both are applied.
    for (const [tool, args] of [
      ['get_postgres_role_status', {cluster_name: name, role_name: 'analyst', namespace}],
      ['get_postgres_database_status', {cluster_name: name, database_name: 'analytics', namespace}],
    ] as const) {
      const first = await call(tool, args)
      if (/Applied: True/.test(textOf(first))) continue
      const until = Date.now() + 180_000
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 2000))
        const again = textOf((await client.callTool({name: tool, arguments: args})) as CallToolResult)
        if (/Applied: True/.test(again)) break
        if (Date.now() > until) break
      }
      await call(tool, args)
    }
  } finally {
    writeFileSync(file, render(steps, namespace, (Date.now() - scenarioStart) / 1000))
    say(`transcript of ${steps.length} tool calls written to ${file}`)
  }
}

function render(steps: Step[], namespace: string, total: number): string {
  const out = [
    '# Demo transcript: a real cluster through kmcp',
    '',
    'Recorded on the real node (CloudNativePG v1.30.0 operator, PostgreSQL 15 in pods on a local kubelet) with',
    '`npm run demo -- --transcript docs/demo-transcript.md`. The request was: "create a cluster with 3 instances, add a',
    'role and a database, then switch over". Each block is one MCP tool call as the agent made it and kmcp\'s answer,',
    `verbatim (namespace \`${namespace}\`). Between the switchover request and the detailed status, the agent polled`,
    '`get_cluster_status` until the operator reported the new primary with every instance ready, and it polled the role and',
    'database status until the operator reported them applied; those polls are not shown (first and last answers are).',
    '',
    `Total wall time: ${total.toFixed(0)} s.`,
    '',
  ]
  steps.forEach((step, i) => {
    out.push(`## ${i + 1}. \`${step.tool}\` at ${step.at.toFixed(0)} s (took ${step.seconds.toFixed(1)} s)${step.isError ? ' — error' : ''}`, '', '```json', JSON.stringify(step.args, null, 2), '```', '', '```text', step.answer, '```', '')
  })
  return out.join('\n')
}
