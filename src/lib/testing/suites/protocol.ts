import AjvDraft7Module from 'ajv'
import Ajv2019Module from 'ajv/dist/2019.js'
import Ajv2020Module from 'ajv/dist/2020.js'
import {EmptyResultSchema, ErrorCode, McpError, ResultSchema, SUPPORTED_PROTOCOL_VERSIONS, type CallToolResult, type Tool} from '@modelcontextprotocol/sdk/types.js'
import {fail, pass, skip, type PluginOutcome, type TestPlugin, type TestSession} from '../plugin.ts'
import {errorSummary} from '../runner.ts'

// The ajv packages are CommonJS whose types declare an ES default export; under Node the default
// import is the class itself, under a bundler it may be wrapped once.
type AjvClass = typeof AjvDraft7Module.default
const unwrap = (module: unknown): AjvClass => ((module as {default?: AjvClass}).default ?? module) as AjvClass

/** One validator per JSON Schema dialect a tool schema may declare with `$schema`. */
const DIALECTS: Array<{match: RegExp; create: () => InstanceType<AjvClass>; instance?: InstanceType<AjvClass>}> = [
  {match: /^https?:\/\/json-schema\.org\/draft-07\/schema#?$/, create: () => new (unwrap(AjvDraft7Module))({strict: false, allErrors: true})},
  {match: /^https:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/, create: () => new (unwrap(Ajv2019Module))({strict: false, allErrors: true})},
  // The MCP specification's default dialect (2025-11-25) when $schema is absent.
  {match: /^(https:\/\/json-schema\.org\/draft\/2020-12\/schema#?)?$/, create: () => new (unwrap(Ajv2020Module))({strict: false, allErrors: true})},
]

/** Why `schema` is not a valid JSON Schema, or undefined when it is. */
export function jsonSchemaProblem(schema: unknown): string | undefined {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return 'is not a JSON object'
  const dialect = (schema as {$schema?: unknown}).$schema ?? ''
  if (typeof dialect !== 'string') return '$schema is not a string'
  const validator = DIALECTS.find((entry) => entry.match.test(dialect))
  if (!validator) return `declares a JSON Schema dialect this check does not know: ${dialect}`
  // Made once per dialect: creating an Ajv instance compiles its meta-schemas, which is slow.
  const ajv = (validator.instance ??= validator.create())
  if (!ajv.validateSchema(schema as Record<string, unknown>)) return ajv.errorsText(ajv.errors, {dataVar: 'schema'})
  try {
    ajv.compile(schema as Record<string, unknown>)
  } catch (error) {
    return (error as Error).message
  }
  return undefined
}

/** Tool names the MCP specification recommends: 1-128 characters of A-Z a-z 0-9 _ - . */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/

const GROUP = 'protocol'

/** Runs `check` on every tool and fails with the list of offenders. */
async function everyTool(session: TestSession, what: string, check: (tool: Tool) => string | undefined): Promise<PluginOutcome> {
  const tools = await session.tools()
  if (tools.length === 0) return skip('the server offers no tools')
  const problems = tools.flatMap((tool) => {
    const problem = check(tool)
    return problem ? [`${tool.name}: ${problem}`] : []
  })
  if (problems.length > 0) return fail(`${problems.length} of ${tools.length} tools ${what}`, problems.join('\n'))
  return pass(`all ${tools.length} tools pass`)
}

/** Read-only tools that need no arguments: safe to call on any server. */
function argumentFreeReadTools(tools: Tool[]): Tool[] {
  return tools.filter((tool) => tool.annotations?.readOnlyHint === true && (tool.inputSchema.required ?? []).length === 0)
}

/** A value of the wrong JSON type for a property schema, or undefined when any value fits. */
function wrongValueFor(schema: unknown): unknown {
  const type = (schema as {type?: unknown})?.type
  if (type === 'string') return 12345
  if (type === 'number' || type === 'integer') return 'not-a-number'
  if (type === 'boolean') return 'not-a-boolean'
  if (type === 'array') return {not: 'an array'}
  if (type === 'object') return ['not', 'an', 'object']
  return undefined
}

function isErrorResult(result: CallToolResult): boolean {
  return result.isError === true
}

export const protocolSuite: TestPlugin[] = [
  {
    name: 'initialize',
    group: GROUP,
    description: 'initialize: a supported protocol version and a server name and version',
    test: async (session) => {
      const result = session.initializeResult
      if (!result) return fail('no initialize result was recorded')
      const problems: string[] = []
      if (!SUPPORTED_PROTOCOL_VERSIONS.includes(result.protocolVersion)) problems.push(`protocolVersion ${JSON.stringify(result.protocolVersion)} is not one the SDK supports (${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`)
      if (!result.serverInfo?.name?.trim()) problems.push('serverInfo.name is empty')
      if (!result.serverInfo?.version?.trim()) problems.push('serverInfo.version is empty')
      if (problems.length > 0) return fail('the initialize result is incomplete', problems.join('\n'))
      return pass(`${result.serverInfo.name} ${result.serverInfo.version}, protocol ${result.protocolVersion}`)
    },
  },
  {
    name: 'capabilities',
    group: GROUP,
    description: 'The server declares the tools capability, and each declared capability is an object',
    dependsOn: ['initialize'],
    test: async (session) => {
      const capabilities = session.initializeResult?.capabilities ?? {}
      const notObjects = Object.entries(capabilities).filter(([, value]) => value === null || typeof value !== 'object' || Array.isArray(value)).map(([key]) => key)
      if (notObjects.length > 0) return fail(`capabilities that are not objects: ${notObjects.join(', ')}`)
      if (!capabilities.tools) return fail('the server does not declare the "tools" capability')
      return pass(`declares ${Object.keys(capabilities).sort().join(', ')}`)
    },
  },
  {
    name: 'tools_list',
    group: GROUP,
    description: 'tools/list answers with uniquely named tools whose names follow the specification',
    dependsOn: ['capabilities'],
    test: async (session) => {
      const tools = await session.tools()
      if (tools.length === 0) return fail('tools/list returned no tools')
      const seen = new Set<string>()
      const problems: string[] = []
      for (const tool of tools) {
        if (seen.has(tool.name)) problems.push(`${tool.name}: listed twice`)
        seen.add(tool.name)
        if (!TOOL_NAME.test(tool.name)) problems.push(`${JSON.stringify(tool.name)}: names should be 1-128 characters of A-Z a-z 0-9 _ - .`)
      }
      if (problems.length > 0) return fail(`${problems.length} tool name problem(s)`, problems.join('\n'))
      return pass(`${tools.length} tools: ${tools.map((tool) => tool.name).join(', ')}`)
    },
  },
  {
    name: 'tool_schemas',
    group: GROUP,
    description: 'Every input and output schema is a valid JSON Schema of type object',
    dependsOn: ['tools_list'],
    test: (session) =>
      everyTool(session, 'have an invalid schema', (tool) => {
        const problems: string[] = []
        for (const [which, schema] of [['inputSchema', tool.inputSchema], ['outputSchema', tool.outputSchema]] as const) {
          if (schema === undefined && which === 'outputSchema') continue
          if ((schema as {type?: unknown})?.type !== 'object') problems.push(`${which} is not of type "object"`)
          const problem = jsonSchemaProblem(schema)
          if (problem) problems.push(`${which} ${problem}`)
        }
        return problems.length > 0 ? problems.join('; ') : undefined
      }),
  },
  {
    name: 'tool_descriptions',
    group: GROUP,
    description: 'Every tool has a description',
    dependsOn: ['tools_list'],
    test: (session) => everyTool(session, 'have no description', (tool) => (tool.description?.trim() ? undefined : 'no description')),
  },
  {
    name: 'tool_annotations',
    group: GROUP,
    description: 'Every tool has annotations with readOnlyHint, destructiveHint, idempotentHint and openWorldHint',
    dependsOn: ['tools_list'],
    test: (session) =>
      everyTool(session, 'lack annotations', (tool) => {
        if (!tool.annotations) return 'no annotations'
        const hints = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const
        const missing = hints.filter((hint) => typeof tool.annotations?.[hint] !== 'boolean')
        return missing.length > 0 ? `annotations lack ${missing.join(', ')}` : undefined
      }),
  },
  {
    name: 'ping',
    group: GROUP,
    description: 'ping answers with an empty result',
    test: async (session) => {
      const result = await session.client.ping({signal: session.signal})
      if (Object.keys(result).filter((key) => key !== '_meta').length > 0) return fail('ping answered with a non-empty result', JSON.stringify(result))
      return pass('pong')
    },
  },
  {
    name: 'unknown_method',
    group: GROUP,
    description: 'An unknown method is answered with JSON-RPC error -32601 (method not found)',
    test: async (session) => {
      try {
        const result = await session.client.request({method: 'kmcp-test/no-such-method'}, EmptyResultSchema, {signal: session.signal})
        return fail('the server answered an unknown method with a result instead of an error', JSON.stringify(result))
      } catch (error) {
        if (error instanceof McpError && error.code === ErrorCode.MethodNotFound) return pass('method not found (-32601)')
        return fail(`expected error -32601 (method not found), got ${errorSummary(error)}`)
      }
    },
  },
  {
    name: 'malformed_arguments',
    group: GROUP,
    description: 'A tool called with arguments of the wrong type refuses them (an error result or JSON-RPC -32602)',
    dependsOn: ['tools_list'],
    test: async (session) => {
      // Only read-only tools: a server that wrongly accepts the call must not change anything.
      const candidates = (await session.tools()).filter((tool) => tool.annotations?.readOnlyHint === true)
      for (const tool of candidates) {
        const entry = Object.entries(tool.inputSchema.properties ?? {}).find(([, schema]) => wrongValueFor(schema) !== undefined)
        if (!entry) continue
        const [property, schema] = entry
        const args = {[property]: wrongValueFor(schema)}
        try {
          // A raw tools/call: the SDK's callTool would check the result against the output schema
          // on the client side and throw -32602 itself, hiding what the server did.
          const result = (await session.client.request({method: 'tools/call', params: {name: tool.name, arguments: args}}, ResultSchema, {signal: session.signal})) as CallToolResult
          if (isErrorResult(result)) return pass(`${tool.name} refused ${JSON.stringify(args)} with an error result`)
          return fail(`${tool.name} accepted ${JSON.stringify(args)} although "${property}" must be of type ${(schema as {type: string}).type}`, JSON.stringify(result).slice(0, 500))
        } catch (error) {
          if (error instanceof McpError && error.code === ErrorCode.InvalidParams) return pass(`${tool.name} refused ${JSON.stringify(args)} with -32602`)
          return fail(`${tool.name} answered ${JSON.stringify(args)} with ${errorSummary(error)} instead of an error result or -32602`)
        }
      }
      return skip('no read-only tool with a typed argument to send a wrong value to')
    },
  },
  {
    name: 'tool_results',
    group: GROUP,
    description: 'Read-only tools that need no arguments return well-formed results that match their output schema',
    dependsOn: ['tools_list'],
    runAfter: ['tool_schemas'],
    test: async (session) => {
      const tools = argumentFreeReadTools(await session.tools())
      if (tools.length === 0) return skip('no read-only tool that can be called without arguments')
      const problems: string[] = []
      for (const tool of tools) {
        try {
          // The SDK client checks the result's shape and, with an output schema, the structured content.
          const result = await session.callTool(tool.name, {})
          if (!Array.isArray(result.content)) problems.push(`${tool.name}: content is not an array`)
          else if (!isErrorResult(result) && tool.outputSchema && result.structuredContent === undefined) problems.push(`${tool.name}: no structuredContent although the tool has an output schema`)
        } catch (error) {
          problems.push(`${tool.name}: ${errorSummary(error)}`)
        }
      }
      if (problems.length > 0) return fail(`${problems.length} of ${tools.length} tool result(s) are malformed`, problems.join('\n'))
      return pass(`${tools.map((tool) => tool.name).join(', ')} returned well-formed results`)
    },
  },
]
