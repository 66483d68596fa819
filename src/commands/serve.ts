import {Command, Flags} from '@oclif/core'
import {ListenError} from '../lib/server/errors.ts'

export default class Serve extends Command {
  static override summary = 'Run the kmcp MCP server (stdio or Streamable HTTP).'
  static override description = [
    'stdio (default) is for an MCP client that starts kmcp itself, one process per session.',
    'http serves MCP Streamable HTTP at --path, with GET /healthz (liveness) and GET /readyz (readiness: the Kubernetes API answers).',
    'HTTP authentication: with --oidc-config (or /etc/mcp/oidc.yaml, or OIDC_ISSUER) kmcp is an OAuth 2.1 authorization server in front of Auth0 or any OpenID provider, keeping clients and tokens in Redis (docs/auth.md); without it, HTTP is served only on loopback.',
    'Kubernetes access: --kubeconfig if given, else the in-cluster service account, else $KUBECONFIG, else ~/.kube/config; the client is created on the first tool call.',
  ].join('\n')

  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --kubeconfig ~/.kube/config --context staging',
    '<%= config.bin %> serve --transport http --host 127.0.0.1 --port 4204',
  ]

  static override flags = {
    transport: Flags.string({char: 't', options: ['stdio', 'http'], default: 'stdio', summary: 'MCP transport.'}),
    host: Flags.string({default: '0.0.0.0', summary: 'HTTP: address to listen on.'}),
    port: Flags.integer({default: 4204, min: 0, max: 65535, summary: 'HTTP: port to listen on (0 picks a free port).'}),
    path: Flags.string({default: '/mcp', summary: 'HTTP: path of the MCP endpoint.'}),
    kubeconfig: Flags.string({summary: 'Kubeconfig file to use (overrides in-cluster and $KUBECONFIG).', env: 'KMCP_KUBECONFIG'}),
    context: Flags.string({summary: 'Kubeconfig context to use.'}),
    'log-level': Flags.string({options: ['debug', 'info', 'warn', 'error', 'silent'], default: 'info', summary: 'Log level (logs go to stderr).', env: 'KMCP_LOG_LEVEL'}),
    'insecure-no-auth': Flags.boolean({default: false, summary: 'HTTP: serve without authentication on a non-loopback address.'}),
    'oidc-config': Flags.string({summary: 'HTTP: OAuth configuration file (YAML; default /etc/mcp/oidc.yaml). Needed when authentication is on; see docs/auth.md.', env: 'KMCP_OIDC_CONFIG'}),
    impersonate: Flags.boolean({default: false, summary: 'HTTP: make Kubernetes requests as the signed-in user (Impersonate-User/-Group), so cluster RBAC decides per person.'}),
    'admin-users': Flags.string({summary: 'HTTP: comma-separated subjects (oidc:<sub>, printed when a user signs in) allowed to use admin tools (overrides admin_users in the config).'}),
    'admin-groups': Flags.string({summary: 'HTTP: comma-separated prefixed identity-provider groups (oidc:<group>) allowed to use admin tools (overrides admin_groups).'}),
    'allowed-hosts': Flags.string({summary: 'HTTP: comma-separated host names the server answers to besides loopback, the listen address and public_url (e.g. the Service DNS name); others get 403 (DNS rebinding protection).', env: 'KMCP_ALLOWED_HOSTS'}),
    'allowed-origins': Flags.string({summary: 'HTTP: comma-separated web origins (https://app.example.com) allowed to call kmcp from a browser besides the allowed hosts.', env: 'KMCP_ALLOWED_ORIGINS'}),
    'session-idle-timeout': Flags.integer({min: 1, default: 1800, summary: 'HTTP: seconds after which an MCP session without requests or open streams is closed.', env: 'KMCP_SESSION_IDLE_TIMEOUT'}),
    'max-sessions': Flags.integer({min: 1, default: 1000, summary: 'HTTP: MCP sessions this process holds at most (more get 503 with Retry-After).', env: 'KMCP_MAX_SESSIONS'}),
    'max-sessions-per-user': Flags.integer({min: 1, default: 50, summary: 'HTTP: MCP sessions one user holds at most (more get 429 with Retry-After).', env: 'KMCP_MAX_SESSIONS_PER_USER'}),
    stateless: Flags.boolean({default: false, summary: 'HTTP: no MCP sessions; every POST is served on its own, by any replica. Loses elicitation (destructive tools need their confirm flag), subscriptions, notifications outside a request and resumable streams (docs/deploy.md).', env: 'KMCP_STATELESS'}),
    'max-connections': Flags.integer({min: 1, default: 1024, summary: 'HTTP: open TCP connections at most.', env: 'KMCP_MAX_CONNECTIONS'}),
    'allowed-images': Flags.string({summary: 'Comma-separated image reference prefixes create_postgres_cluster\'s container_image may use (default ghcr.io/cloudnative-pg/).', env: 'KMCP_ALLOWED_IMAGES'}),
    'read-only': Flags.boolean({default: false, summary: 'Offer only the tools that change nothing (readOnlyHint); the others are neither listed nor callable.', env: 'KMCP_READ_ONLY'}),
    'disable-destructive': Flags.boolean({default: false, summary: 'Offer no destructive tool (deletions, scale-down, restarts, password changes...).', env: 'KMCP_DISABLE_DESTRUCTIVE'}),
    toolsets: Flags.string({summary: 'Comma-separated toolsets to offer (cnpg, postgres, prompt-admin). Default: all.', env: 'KMCP_TOOLSETS'}),
    'enable-tools': Flags.string({summary: 'Comma-separated tool names or globs to offer, e.g. "list_*,get_*". Default: all.', env: 'KMCP_ENABLE_TOOLS'}),
    'disable-tools': Flags.string({summary: 'Comma-separated tool names or globs never to offer, e.g. "delete_*".', env: 'KMCP_DISABLE_TOOLS'}),
    namespaces: Flags.string({summary: 'Comma-separated namespaces tools may use; any other is refused before a request is made, and listing "all namespaces" lists only these.', env: 'KMCP_NAMESPACES'}),
    prompts: Flags.string({summary: 'Prompt bundle file (YAML or JSON) offered through MCP prompts, reloaded when it changes. Default /etc/mcp/prompts/prompts.yaml when present; a path given here must exist and be valid.', env: 'PROMPTS_PATH'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Serve)
    // Loaded here, not at the top: `kmcp --help` and the other commands should not pay for the server.
    const {serve, ServeConfigError} = await import('../lib/server/serve.ts')
    if (!flags.path.startsWith('/')) this.error('--path must start with "/", e.g. /mcp', {exit: 2})
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
      // The session is over and drained; stdin held open by the client, the prompt file watcher or
      // kept-alive sockets must not keep the process alive.
      process.exit(process.exitCode ?? 0)
    } catch (error) {
      if (error instanceof ServeConfigError || error instanceof ListenError) this.error(error.message, {exit: 1})
      throw error
    }
  }
}

function splitList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((v) => v.trim()).filter(Boolean)
}
