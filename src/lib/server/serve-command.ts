import type {FlagSpecs, FlagValues} from '../cli/flag-spec.ts'
import {ListenError} from './errors.ts'

// What `kmcp serve` is, shared by the oclif command (src/commands/serve.ts) and the single
// executable's fast start (src/lib/cli/serve-fast-path.ts): its flags, declared once, and the run.

export const SERVE_FLAGS = {
  transport: {type: 'string', char: 't', options: ['stdio', 'http'], default: 'stdio', summary: 'MCP transport.'},
  host: {type: 'string', default: '0.0.0.0', summary: 'HTTP: address to listen on.'},
  port: {type: 'integer', default: 4204, min: 0, max: 65535, summary: 'HTTP: port to listen on (0 picks a free port).'},
  path: {type: 'string', default: '/mcp', summary: 'HTTP: path of the MCP endpoint.'},
  kubeconfig: {type: 'string', summary: 'Kubeconfig file to use (overrides in-cluster and $KUBECONFIG).', env: 'KMCP_KUBECONFIG'},
  context: {type: 'string', summary: 'Kubeconfig context to use.'},
  'log-level': {type: 'string', options: ['debug', 'info', 'warn', 'error', 'silent'], default: 'info', summary: 'Log level (logs go to stderr).', env: 'KMCP_LOG_LEVEL'},
  'insecure-no-auth': {type: 'boolean', default: false, summary: 'HTTP: serve without authentication on a non-loopback address.'},
  'oidc-config': {type: 'string', summary: 'HTTP: OAuth configuration file (YAML; default /etc/mcp/oidc.yaml). Needed when authentication is on; see docs/auth.md.', env: 'KMCP_OIDC_CONFIG'},
  impersonate: {type: 'boolean', default: false, summary: 'HTTP: make Kubernetes requests as the signed-in user (Impersonate-User/-Group), so cluster RBAC decides per person.'},
  'admin-users': {type: 'string', summary: 'HTTP: comma-separated subjects (oidc:<sub>, printed when a user signs in) allowed to use admin tools (overrides admin_users in the config).'},
  'admin-groups': {type: 'string', summary: 'HTTP: comma-separated prefixed identity-provider groups (oidc:<group>) allowed to use admin tools (overrides admin_groups).'},
  'allowed-hosts': {type: 'string', summary: 'HTTP: comma-separated host names the server answers to besides loopback, the listen address and public_url (e.g. the Service DNS name); others get 403 (DNS rebinding protection).', env: 'KMCP_ALLOWED_HOSTS'},
  'allowed-origins': {type: 'string', summary: 'HTTP: comma-separated web origins (https://app.example.com) allowed to call kmcp from a browser besides the allowed hosts.', env: 'KMCP_ALLOWED_ORIGINS'},
  'session-idle-timeout': {type: 'integer', min: 1, default: 1800, summary: 'HTTP: seconds after which an MCP session without requests or open streams is closed.', env: 'KMCP_SESSION_IDLE_TIMEOUT'},
  'max-sessions': {type: 'integer', min: 1, default: 1000, summary: 'HTTP: MCP sessions this process holds at most (more get 503 with Retry-After).', env: 'KMCP_MAX_SESSIONS'},
  'max-sessions-per-user': {type: 'integer', min: 1, default: 50, summary: 'HTTP: MCP sessions one user holds at most (more get 429 with Retry-After).', env: 'KMCP_MAX_SESSIONS_PER_USER'},
  stateless: {type: 'boolean', default: false, summary: 'HTTP: no MCP sessions; every POST is served on its own, by any replica. Loses elicitation (destructive tools need their confirm flag), subscriptions, notifications outside a request and resumable streams (docs/deploy.md).', env: 'KMCP_STATELESS'},
  'max-connections': {type: 'integer', min: 1, default: 1024, summary: 'HTTP: open TCP connections at most.', env: 'KMCP_MAX_CONNECTIONS'},
  'allowed-images': {type: 'string', summary: 'Comma-separated image reference prefixes create_postgres_cluster\'s container_image may use (default ghcr.io/cloudnative-pg/).', env: 'KMCP_ALLOWED_IMAGES'},
  'read-only': {type: 'boolean', default: false, summary: 'Offer only the tools that change nothing (readOnlyHint); the others are neither listed nor callable.', env: 'KMCP_READ_ONLY'},
  'disable-destructive': {type: 'boolean', default: false, summary: 'Offer no destructive tool (deletions, scale-down, restarts, password changes...).', env: 'KMCP_DISABLE_DESTRUCTIVE'},
  toolsets: {type: 'string', summary: 'Comma-separated toolsets to offer (cnpg, postgres, prompt-admin). Default: all.', env: 'KMCP_TOOLSETS'},
  'enable-tools': {type: 'string', summary: 'Comma-separated tool names or globs to offer, e.g. "list_*,get_*". Default: all.', env: 'KMCP_ENABLE_TOOLS'},
  'disable-tools': {type: 'string', summary: 'Comma-separated tool names or globs never to offer, e.g. "delete_*".', env: 'KMCP_DISABLE_TOOLS'},
  namespaces: {type: 'string', summary: 'Comma-separated namespaces tools may use; any other is refused before a request is made, and listing "all namespaces" lists only these.', env: 'KMCP_NAMESPACES'},
  prompts: {type: 'string', summary: 'Prompt bundle file (YAML or JSON) offered through MCP prompts, reloaded when it changes. Default /etc/mcp/prompts/prompts.yaml when present; a path given here must exist and be valid.', env: 'PROMPTS_PATH'},
} as const satisfies FlagSpecs

export type ServeFlags = FlagValues<typeof SERVE_FLAGS>

/** How a refusal reaches the user: oclif's error output and exit code, from either entry point. */
export type FailCommand = (message: string, exit: number) => Promise<never> | never

/** Runs the server with the parsed flags until it is stopped, then ends the process. */
export async function runServe(flags: ServeFlags, fail: FailCommand): Promise<void> {
  // Loaded here, not at the top: `kmcp --help` and the other commands should not pay for the server.
  const {serve, ServeConfigError} = await import('./serve.ts')
  if (!flags.path.startsWith('/')) return fail('--path must start with "/", e.g. /mcp', 2)
  // Read by the tools (privileged-fields.ts), in stdio as in HTTP.
  if (flags['allowed-images'] !== undefined) process.env.KMCP_ALLOWED_IMAGES = flags['allowed-images']
  try {
    await serve({
      transport: flags.transport as 'stdio' | 'http',
      host: flags.host,
      port: flags.port,
      path: flags.path.replace(/\/+$/, '') || '/',
      kubeconfig: flags.kubeconfig,
      context: flags.context,
      logLevel: flags['log-level'] as 'info',
      insecureNoAuth: flags['insecure-no-auth'],
      oidcConfig: flags['oidc-config'],
      impersonate: flags.impersonate,
      adminUsers: splitList(flags['admin-users']),
      adminGroups: splitList(flags['admin-groups']),
      prompts: flags.prompts,
      allowedHosts: splitList(flags['allowed-hosts']),
      allowedOrigins: splitList(flags['allowed-origins']),
      sessionLimits: {idleTimeoutMs: flags['session-idle-timeout'] * 1000, maxTotal: flags['max-sessions'], maxPerUser: flags['max-sessions-per-user']},
      connectionLimits: {maxConnections: flags['max-connections']},
      stateless: flags.stateless,
      policy: {
        readOnly: flags['read-only'] || undefined,
        disableDestructive: flags['disable-destructive'] || undefined,
        toolsets: splitList(flags.toolsets),
        enableTools: splitList(flags['enable-tools']),
        disableTools: splitList(flags['disable-tools']),
        namespaces: splitList(flags.namespaces),
      },
    })
  } catch (error) {
    if (error instanceof ServeConfigError || error instanceof ListenError) return fail(error.message, 1)
    throw error
  }
  // The session is over and drained; stdin held open by the client, the prompt file watcher or
  // kept-alive sockets must not keep the process alive.
  process.exit(process.exitCode ?? 0)
}

function splitList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((v) => v.trim()).filter(Boolean)
}
