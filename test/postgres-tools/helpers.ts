// Shared by the postgres tool tests: Secret RBAC for the test users, and the "no password ever
// shows up" bookkeeping.
import assert from 'node:assert/strict'
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {kubeRequest, waitFor} from '../support/kube.ts'
import {textOf, type StdioSession} from '../support/mcp.ts'

/** The CNPG chart roles do not cover Secrets; role tools need them. */
export const SECRETS_CLUSTER_ROLE = 'kmcp-test-secrets-editor'

export async function ensureSecretsClusterRole(): Promise<void> {
  const res = await kubeRequest('admin', 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: {name: SECRETS_CLUSTER_ROLE},
    rules: [{apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'create', 'patch', 'update', 'delete']}],
  })
  assert.ok(res.status === 201 || res.status === 409, res.text)
}

/** Every tool result of a test file, to prove afterwards that no password leaked into one. */
export class OutputLog {
  private readonly texts: string[] = []
  private readonly passwords = new Set<string>()

  record(result: CallToolResult): CallToolResult {
    this.texts.push(textOf(result), JSON.stringify(result.structuredContent ?? null))
    return result
  }

  /** Remembers the passwords of every Secret in the namespace (call before they change or go). */
  async rememberPasswordsIn(namespace: string): Promise<void> {
    const list = await kubeRequest('admin', 'GET', `/api/v1/namespaces/${namespace}/secrets`)
    for (const item of list.body.items as Array<{data?: {password?: string}}>) {
      if (item.data?.password) this.passwords.add(Buffer.from(item.data.password, 'base64').toString('utf8'))
    }
  }

  remember(password: string): void {
    this.passwords.add(password)
  }

  assertNoPasswords(logs: string[]): void {
    assert.ok(this.passwords.size > 0, 'the test run saw password Secrets')
    for (const password of this.passwords) {
      for (const text of [...this.texts, ...logs]) assert.ok(!text.includes(password), 'a password appeared in a tool result or a log line')
    }
  }
}

/**
 * Right after the harness starts, the API server may answer 429 "storage is (re)initializing"
 * for a CRD's first list; wait until roles and databases can be listed.
 */
export async function waitForCnpgStorage(namespace: string): Promise<void> {
  await waitFor(
    async () => {
      for (const plural of ['databaseroles', 'databases', 'clusters']) {
        if ((await kubeRequest('admin', 'GET', `/apis/postgresql.cnpg.io/v1/namespaces/${namespace}/${plural}`)).status !== 200) return false
      }
      return true
    },
    {timeoutMs: 30_000, message: 'CNPG resources could not be listed'},
  )
}

/** Ends a test file: no password seen in any result or log line of its sessions, then close them. */
export async function closeCheckingForLeaks(outputs: OutputLog, namespace: string, sessions: Array<StdioSession | undefined>): Promise<void> {
  try {
    await outputs.rememberPasswordsIn(namespace)
    outputs.assertNoPasswords(sessions.map((s) => s?.stderr() ?? ''))
  } finally {
    for (const session of sessions) await session?.close()
  }
}
