import {Command} from '@oclif/core'
import {oclifFlags} from '../lib/cli/oclif-flags.ts'
import {runServe, SERVE_FLAGS} from '../lib/server/serve-command.ts'

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

  static override flags = oclifFlags(SERVE_FLAGS)

  async run(): Promise<void> {
    const {flags} = await this.parse(Serve)
    await runServe(flags, (message, exit) => this.error(message, {exit}))
  }
}
