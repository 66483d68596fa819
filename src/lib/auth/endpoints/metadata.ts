import {TOOL_TIER_SCOPES} from '../../tools/policy/modes.ts'
import {sendJson} from '../../server/json-reply.ts'
import type {Endpoint} from '../context.ts'
import {CORS, allowMethods} from '../oauth-http.ts'
import {TOKEN_EXCHANGE} from './token-exchange.ts'

/** RFC 9728: where to get tokens for the MCP endpoint. */
export const protectedResourceMetadata: Endpoint = async (ctx, _req, res, _url, method) => {
  allowMethods(method, ['GET', 'HEAD'])
  sendJson(
    res,
    200,
    {
      resource: ctx.resource,
      authorization_servers: [ctx.config.publicUrl],
      scopes_supported: [...ctx.config.mcpScopes, ...TOOL_TIER_SCOPES],
      bearer_methods_supported: ['header'],
      resource_name: 'kmcp',
    },
    {...CORS, 'cache-control': 'public, max-age=300'},
  )
}

/** RFC 8414: kmcp's own authorization server. */
export const authorizationServerMetadata: Endpoint = async (ctx, _req, res, _url, method) => {
  allowMethods(method, ['GET', 'HEAD'])
  const base = ctx.config.publicUrl
  sendJson(
    res,
    200,
    {
      issuer: base,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      registration_endpoint: `${base}/register`,
      revocation_endpoint: `${base}/revoke`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token', ...(ctx.config.machineClients.length > 0 ? ['client_credentials'] : []), ...(ctx.workloads.enabled ? [TOKEN_EXCHANGE] : [])],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none', ...(ctx.config.machineClients.length > 0 ? ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] : [])],
      revocation_endpoint_auth_methods_supported: ['none', ...(ctx.config.machineClients.length > 0 ? ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] : [])],
      scopes_supported: [...ctx.config.mcpScopes, ...TOOL_TIER_SCOPES],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: ctx.metadataDocuments.enabled,
    },
    {...CORS, 'cache-control': 'public, max-age=300'},
  )
}
