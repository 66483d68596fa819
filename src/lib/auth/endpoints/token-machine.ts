import type {IncomingMessage} from 'node:http'
import type {FacadeContext} from '../context.ts'
import {clientCredentialsGrant} from './token-client-credentials.ts'
import {TOKEN_EXCHANGE, tokenExchangeGrant} from './token-exchange.ts'

/** The grants of non-human callers, by grant_type: /token hands these requests over as they are. */
export const MACHINE_GRANTS = new Map<string, (ctx: FacadeContext, req: IncomingMessage, form: URLSearchParams) => Promise<Record<string, unknown>>>([
  ['client_credentials', clientCredentialsGrant],
  [TOKEN_EXCHANGE, tokenExchangeGrant],
])
