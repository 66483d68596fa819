import type {JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator} from '@modelcontextprotocol/sdk/validation'

/**
 * The MCP server checks elicitation answers (a human's confirmation) against their JSON Schema
 * with Ajv. Ajv and its formats cost about 2 MiB and a few ms at every start, and most sessions
 * never ask the human, so the SDK's Ajv validator is loaded only when a confirmation is about to
 * be asked (prepareJsonSchemaValidation, awaited by policy/confirmation.ts). The executable does
 * not even carry the SDK's eager import of it (scripts/build-binary.ts).
 */

type AjvProvider = typeof import('@modelcontextprotocol/sdk/validation/ajv')

let provider: Promise<AjvProvider> | undefined
let validator: jsonSchemaValidator | undefined

/** Loads the Ajv validator; call it before anything that makes the server validate JSON Schema. */
export async function prepareJsonSchemaValidation(): Promise<void> {
  provider ??= import('@modelcontextprotocol/sdk/validation/ajv')
  validator ??= new (await provider).AjvJsonSchemaValidator()
}

/** The validator handed to every McpServer: it delegates to Ajv once prepareJsonSchemaValidation ran. */
export const validatorOnFirstUse: jsonSchemaValidator = {
  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    if (!validator) throw new Error('JSON Schema validation was used before prepareJsonSchemaValidation() loaded it')
    return validator.getValidator<T>(schema)
  },
}
