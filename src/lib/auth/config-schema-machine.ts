import {z} from 'zod'

/**
 * The oidc.yaml sections for non-human callers: `machine_clients` (OAuth client credentials) and
 * `trusted_workload_issuers` (RFC 8693 token exchange of a CI platform's OIDC ID token). Strict
 * like the rest of the schema; files, keys and URLs are checked in machine-clients.ts and
 * workload-issuers.ts.
 */
const text = (what = 'a string') => z.union([z.string(), z.number()], {error: `must be ${what}`}).nullish()
const list = z.union([z.string(), z.array(z.union([z.string(), z.number()]))], {error: 'must be a list of strings (or one string separated by spaces or commas)'}).nullish()
const lifetime = z.number({error: 'must be a whole number of seconds'}).int({error: 'must be a whole number of seconds'}).min(1, {error: 'must be a whole number of seconds'}).max(24 * 3600, {error: 'must be at most 86400 seconds'}).optional()

/** Who a machine caller acts as: the Kubernetes user and groups, and the scopes of its tokens. */
const actsAs = {
  username: text('a Kubernetes user name'),
  groups: list,
  scopes: list,
  token_lifetime_seconds: lifetime,
}

export const machineClientSchema = z.strictObject(
  {
    client_id: z.union([z.string(), z.number()], {error: 'must be the client id (a string)'}),
    client_secret_file: text('a file path'),
    client_secret_env: text('the name of an environment variable'),
    public_key_file: text('a file path (PEM public key, for private_key_jwt)'),
    jwks_file: text('a file path (JSON Web Key Set, for private_key_jwt)'),
    ...actsAs,
  },
  {error: 'must be a mapping (client_id, client_secret_file or client_secret_env or public_key_file or jwks_file, username, groups, scopes, token_lifetime_seconds)'},
)

export const workloadIssuerSchema = z.strictObject(
  {
    issuer: z.string({error: 'must be the issuer URL exactly as it appears in the tokens'}),
    audience: list,
    jwks_url: text('a URL'),
    discovery_url: text('a URL'),
    jwks_file: text('a file path'),
    jwks_from_kubernetes: z.boolean({error: 'must be true or false'}).optional(),
    rules: list,
    ...actsAs,
  },
  {error: 'must be a mapping (issuer, audience, jwks_url or discovery_url or jwks_file or jwks_from_kubernetes, rules, username, groups, scopes, token_lifetime_seconds)'},
)

export const machineYamlKeys = {
  machine_clients: z.array(machineClientSchema, {error: 'must be a list of machine clients'}).nullish(),
  trusted_workload_issuers: z.array(workloadIssuerSchema, {error: 'must be a list of trusted issuers'}).nullish(),
}

export type MachineClientYaml = z.infer<typeof machineClientSchema>
export type WorkloadIssuerYaml = z.infer<typeof workloadIssuerSchema>
