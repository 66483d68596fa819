import {randomBytes} from 'node:crypto'
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import {fail, pass, skip, type PluginOutcome, type TestPlugin, type TestSession} from '../plugin.ts'

/**
 * What the cnpg suite's plugins share (cnpg.ts, cnpg-objects.ts, cnpg-diagnose.ts): the run's object
 * names and what it created, tool calls in the run's namespace whose error results become plugin
 * failures, and the plugin shapes that repeat (create, delete and verify, dry-run previews).
 */
export const CNPG_GROUP = 'cnpg'

/** What the run created and has not deleted yet, by kind; the cleanup plugin deletes these. */
export interface Created {
  cluster?: string
  role?: string
  database?: string
}

export function created(session: TestSession): Created {
  let value = session.shared.get('cnpg.created') as Created | undefined
  if (!value) {
    value = {}
    session.shared.set('cnpg.created', value)
  }
  return value
}

/** Names for this run's objects, made once and shared by every plugin. */
export function names(session: TestSession): {cluster: string; role: string; database: string} {
  let value = session.shared.get('cnpg.names') as ReturnType<typeof names> | undefined
  if (!value) {
    const suffix = randomBytes(4).toString('hex').replace(/[0-9]/g, (digit) => 'abcdefghij'[Number(digit)]).slice(0, 6)
    // Role and database names are valid both as PostgreSQL identifiers and as RFC 1123 labels.
    value = {cluster: `kmcp-test-${suffix}`, role: `kmcptest${suffix}`, database: `kmcptestdb${suffix}`}
    session.shared.set('cnpg.names', value)
  }
  return value
}

/** The first line of a tool's text, without Markdown emphasis, for a one-line message. */
export function firstLine(text: string): string {
  return text.split('\n')[0].replace(/\*\*/g, '')
}

export function textOf(result: CallToolResult): string {
  return result.content
    .filter((part): part is {type: 'text'; text: string} => part.type === 'text')
    .map((part) => part.text)
    .join('\n')
}

/** Arguments with the run's namespace, when one was given. */
export function inNamespace(session: TestSession, args: Record<string, unknown>, tool?: string): Record<string, unknown> {
  // Tools refuse arguments they do not take, and the admin tools take no namespace.
  return session.namespace && !tool?.startsWith('admin_') ? {...args, namespace: session.namespace} : args
}

interface Call {
  result: CallToolResult
  text: string
  structured: Record<string, unknown>
}

/** Calls a tool in the run's namespace; an error result becomes a thrown ToolCallFailed. */
export async function callOk(session: TestSession, tool: string, args: Record<string, unknown>): Promise<Call> {
  const result = await session.callTool(tool, inNamespace(session, args, tool))
  const text = textOf(result)
  if (result.isError) throw new ToolCallFailed(tool, text)
  return {result, text, structured: (result.structuredContent ?? {}) as Record<string, unknown>}
}

/** Calls a tool (see callOk) and returns the first line of its answer. */
export async function summary(session: TestSession, tool: string, args: Record<string, unknown>): Promise<string> {
  return firstLine((await callOk(session, tool, args)).text)
}

export class ToolCallFailed extends Error {
  readonly text: string
  constructor(tool: string, text: string) {
    super(`${tool} returned an error: ${firstLine(text)}`)
    this.name = 'ToolCallFailed'
    this.text = text
  }
}

/** Turns a ToolCallFailed into a failure with the tool's full text; other errors propagate. */
export async function step(body: () => Promise<PluginOutcome>): Promise<PluginOutcome> {
  try {
    return await body()
  } catch (error) {
    if (error instanceof ToolCallFailed) return fail(error.message, error.text)
    throw error
  }
}

export function mentions(text: string, name: string, what: string): PluginOutcome {
  return text.includes(name) ? pass(`${what} shows ${name}`) : fail(`${what} does not show ${name}`, text)
}

/**
 * Creates one of the run's objects. The name is declared as the run's own before the call, so a
 * confirmation request about it is accepted, and recorded afterwards for the cleanup.
 */
export async function createOwned(session: TestSession, kind: keyof Created, tool: string, args: Record<string, unknown>): Promise<PluginOutcome> {
  const name = names(session)[kind]
  session.ownObject(name)
  const call = await callOk(session, tool, args)
  created(session)[kind] = name
  return pass(firstLine(call.text))
}

/** Runs a delete tool (the tool answers confirmation requests about this run's objects) and checks the object is gone. */
export async function deleteAndVerify(session: TestSession, kind: keyof Created, tool: string, args: Record<string, unknown>, stillThere: () => Promise<boolean>): Promise<PluginOutcome> {
  const name = created(session)[kind]
  if (!name) return skip(`no ${kind} of this run to delete`)
  // A refused (unconfirmed) deletion is an error result, so callOk throws with the refusal's text.
  const call = await callOk(session, tool, args)
  if (await stillThere()) return fail(`${tool} answered, but ${kind} ${name} is still listed`, call.text)
  delete created(session)[kind]
  return pass(`deleted ${kind} ${name}`)
}

/** true when a read tool finds the object (an error result means it does not). */
export async function found(session: TestSession, tool: string, args: Record<string, unknown>): Promise<boolean> {
  const result = await session.callTool(tool, inNamespace(session, args, tool))
  return !result.isError
}

/**
 * A preview of a backup or restore: the cluster this suite creates has no backup storage, so the
 * tool either previews the change or refuses it naming what is missing. Anything else fails.
 */
export async function backupPreview(session: TestSession, tool: string, args: Record<string, unknown>): Promise<PluginOutcome> {
  const result = await session.callTool(tool, inNamespace(session, {...args, dry_run: true}))
  const text = textOf(result)
  if (!result.isError) return pass(`previewed: ${firstLine(text)}`)
  if (/object store|barmanObjectStore|volume ?snapshot|backup/i.test(text)) return pass(`refused, naming what the cluster lacks: ${firstLine(text)}`)
  return fail(`${tool} failed without saying what the cluster lacks`, text)
}

/** Instances get_cluster_status reports ready; 0 while the operator has not started any. */
export async function readyInstances(session: TestSession): Promise<number> {
  const status = await callOk(session, 'get_cluster_status', {name: names(session).cluster, format: 'json'})
  return Number(status.structured.ready_instances ?? 0)
}

export const NO_INSTANCES = 'the test cluster has no ready instances (is the CloudNativePG operator running? The suite does not wait for them)'

/** A plugin that calls a cluster tool with dry_run=true on the test cluster (or its first instance). */
export function clusterPreview(name: string, tool: string, what: string, options: {runAfter?: string[]; onInstance?: boolean} = {}): TestPlugin {
  return {
    name,
    group: CNPG_GROUP,
    tool,
    description: `${tool} with dry_run=true ${what}`,
    dependsOn: ['create_cluster'],
    runAfter: options.runAfter,
    test: (session) =>
      step(async () => {
        const {cluster} = names(session)
        if (options.onInstance && (await readyInstances(session)) === 0) return skip(NO_INSTANCES)
        return pass(await summary(session, tool, {name: cluster, ...(options.onInstance ? {instance: `${cluster}-1`} : {}), dry_run: true}))
      }),
  }
}
