import {Command, Flags} from '@oclif/core'
import {commonFlags, kubeFlags, printJson, exitWithFailure} from '../../lib/setup/command-support.ts'
import {ChangeLog, canPrompt, renderChanges} from '../../lib/setup/ui.ts'

export default class SetupAuth0 extends Command {
  static override summary = "Configure an Auth0 tenant for kmcp's HTTP mode."
  static override description = [
    'Through the Auth0 Management API: the API whose identifier is the MCP audience (scopes mcp:read, mcp:write, offline access), the server application (regular web app, callback <public-url>/auth/callback) with its grant, optionally a test application, and optionally tenant dynamic client registration plus domain-level connections (for MCP clients that register with Auth0 directly).',
    'Writes oidc.yaml for kmcp serve and a Helm values file; --create-secret also stores the client secret and generated keys in the cluster (kmcp secrets create). Re-running finds and updates what exists instead of duplicating it.',
    'Management credentials: --mgmt-client-id/--mgmt-client-secret (a machine-to-machine application authorized for the Management API) or --mgmt-token, from flags, the environment or a prompt.',
  ].join('\n')

  static override examples = [
    '<%= config.bin %> setup auth0',
    '<%= config.bin %> setup auth0 --domain acme.us.auth0.com --public-url https://kmcp.acme.com --yes',
    'AUTH0_MGMT_TOKEN=... <%= config.bin %> setup auth0 --domain acme.us.auth0.com --public-url https://kmcp.acme.com --create-secret -n kmcp --yes',
  ]

  static override flags = {
    domain: Flags.string({summary: 'Auth0 tenant domain, e.g. acme.us.auth0.com.', env: 'AUTH0_DOMAIN'}),
    'mgmt-client-id': Flags.string({summary: 'Client id of a machine-to-machine application authorized for the Management API.', env: 'AUTH0_MGMT_CLIENT_ID'}),
    'mgmt-client-secret': Flags.string({summary: 'Its client secret (prefer the environment variable).', env: 'AUTH0_MGMT_CLIENT_SECRET'}),
    'mgmt-token': Flags.string({summary: 'A Management API token instead of client credentials (prefer the environment variable).', env: 'AUTH0_MGMT_TOKEN'}),
    'public-url': Flags.string({summary: "kmcp's public base URL, e.g. https://kmcp.example.com (http only for localhost).", env: 'PUBLIC_URL'}),
    audience: Flags.string({summary: 'Identifier of the Auth0 API (default <public-url>/mcp).'}),
    name: Flags.string({default: 'kmcp', summary: 'Name prefix of the objects in the tenant ("<name> API", "<name> server").'}),
    'test-client': Flags.boolean({allowNo: true, summary: 'Also create a public test application (for kmcp test).'}),
    'enable-dcr': Flags.boolean({allowNo: true, summary: 'Enable dynamic client registration on the tenant (MCP clients register with Auth0 directly).'}),
    connection: Flags.string({multiple: true, summary: 'With --enable-dcr: connection to promote to domain level (repeatable).'}),
    'oidc-config-out': Flags.string({default: 'oidc.yaml', summary: 'Where to write the kmcp OIDC config file.'}),
    'values-out': Flags.string({default: 'kmcp-values.yaml', summary: 'Where to write the Helm values file.'}),
    'secrets-dir': Flags.string({default: '.kmcp-secrets', summary: 'Directory for secret files (client_secret, keys; mode 0600) that oidc.yaml points at.'}),
    'create-secret': Flags.boolean({allowNo: true, summary: 'Store the client secret and generated keys as Kubernetes Secrets (kmcp secrets create).'}),
    namespace: Flags.string({char: 'n', summary: 'With --create-secret: namespace of the Helm release (default: kubeconfig context namespace).'}),
    release: Flags.string({summary: 'Helm release name (Secret names and the values file; default kmcp).'}),
    'show-secrets': Flags.boolean({default: false, summary: 'Print the client secret in the result.'}),
    ...kubeFlags,
    ...commonFlags,
  }

  async run(): Promise<void> {
    // Loaded on use: every command class is loaded at start-up (oclif reads their flags), so
    // heavy libraries stay out of `kmcp serve`'s start-up this way.
    const {runAuth0Setup} = await import('../../lib/setup/auth0-flow.ts')
    const {flags} = await this.parse(SetupAuth0)
    const changes = new ChangeLog()
    try {
      const {result, nextSteps} = await runAuth0Setup({
        domain: flags.domain,
        mgmtClientId: flags['mgmt-client-id'],
        mgmtClientSecret: flags['mgmt-client-secret'],
        mgmtToken: flags['mgmt-token'],
        publicUrl: flags['public-url'],
        audience: flags.audience,
        name: flags.name,
        testClient: flags['test-client'],
        enableDcr: flags['enable-dcr'],
        connections: flags.connection,
        oidcConfigOut: flags['oidc-config-out'],
        valuesOut: flags['values-out'],
        secretsDir: flags['secrets-dir'],
        createSecret: flags['create-secret'],
        namespace: flags.namespace,
        release: flags.release,
        kubeconfig: flags.kubeconfig,
        context: flags.context,
        dryRun: flags['dry-run'],
        yes: flags.yes,
        interactive: canPrompt() && !flags.json,
        quiet: flags.json,
      }, changes)
      const shown = {...result, serverClient: {...result.serverClient, clientSecret: flags['show-secrets'] ? result.serverClient.clientSecret : undefined}}
      if (flags.json) {
        printJson({ok: true, dryRun: flags['dry-run'], changed: changes.changedAnything, ...shown, changes: changes.changes, nextSteps})
        return
      }
      this.log(renderChanges(changes, flags['dry-run']))
      if (flags['show-secrets'] && result.serverClient.clientSecret) this.log(`Client secret of "${result.serverClient.name}": ${result.serverClient.clientSecret}`)
      this.log(`\nIssuer ${result.issuer}, audience ${result.audience}, client id ${result.serverClient.clientId ?? '(created on the real run)'}.\nNext:\n${nextSteps.map((s) => `  - ${s}`).join('\n')}`)
    } catch (error) {
      exitWithFailure(this, error, changes, flags.json)
    }
  }
}
