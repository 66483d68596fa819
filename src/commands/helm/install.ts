import {Command, Flags} from '@oclif/core'
import {kubeFlags} from '../../lib/setup/command-support.ts'
import {Progress, canPrompt} from '../../lib/setup/ui.ts'

export default class HelmInstall extends Command {
  static override summary = 'Install or upgrade kmcp in a cluster with its bundled Helm chart.'
  static override description = [
    'Runs helm upgrade --install with the chart compiled into kmcp (no checkout needed), after checking that helm works, the cluster answers, CloudNativePG is installed, the Secrets from "kmcp secrets create" exist (offering to create them on a terminal) and the sign-in settings are complete.',
    'Then waits for the rollout, showing progress, and prints the MCP endpoint and a client configuration. A failed upgrade or rollout is rolled back to the previous revision (a failed first install is removed) and says so.',
    '--render prints the manifests (helm template) instead; --dry-run checks every object with a server-side dry run and changes nothing.',
  ].join('\n')

  static override examples = [
    '<%= config.bin %> helm install --namespace kmcp --image registry.example.com/kmcp:0.1.0 --issuer https://tenant.eu.auth0.com/ --audience https://kmcp.example.com/mcp --client-id abc123 --public-url https://kmcp.example.com',
    '<%= config.bin %> helm install -n kmcp --values my-values.yaml --set replicaCount=2',
    '<%= config.bin %> helm install -n kmcp --values my-values.yaml --dry-run',
    '<%= config.bin %> helm install -n kmcp --values my-values.yaml --render > kmcp.yaml',
  ]

  static override flags = {
    ...kubeFlags,
    release: Flags.string({default: 'kmcp', summary: 'Helm release name.'}),
    namespace: Flags.string({char: 'n', summary: 'Namespace to install into (default: the kubeconfig context namespace).'}),
    'create-namespace': Flags.boolean({default: false, summary: 'Create the namespace if it does not exist.'}),
    image: Flags.string({summary: 'kmcp image, REPOSITORY or REPOSITORY:TAG (image.repository / image.tag).'}),
    tag: Flags.string({summary: 'Image tag (image.tag; default: the chart appVersion, i.e. this kmcp version).'}),
    values: Flags.string({char: 'f', multiple: true, default: [], summary: 'Values file (repeatable, later files win).'}),
    set: Flags.string({multiple: true, default: [], summary: 'Set one value, KEY=VALUE (repeatable), as helm --set.'}),
    'auth-type': Flags.string({options: ['auth0', 'oidc'], summary: 'Identity provider kind (oidc.authType).'}),
    issuer: Flags.string({summary: "Identity provider's issuer URL (oidc.issuer)."}),
    audience: Flags.string({summary: 'API audience access tokens are issued for (oidc.audience).'}),
    'client-id': Flags.string({summary: "Client id of kmcp's application at the identity provider (oidc.clientId)."}),
    'public-url': Flags.string({summary: 'https:// origin MCP clients use to reach kmcp (oidc.publicUrl).'}),
    'dry-run': Flags.boolean({default: false, summary: 'Check everything, including a server-side dry run of every object; change nothing.', exclusive: ['render']}),
    render: Flags.boolean({default: false, summary: 'Print the rendered manifests (helm template) and stop.'}),
    wait: Flags.boolean({default: true, allowNo: true, summary: 'Wait for the rollout (--no-wait returns after helm).'}),
    timeout: Flags.integer({default: 300, min: 1, summary: 'Seconds to wait for the rollout before rolling back.'}),
    helm: Flags.string({summary: 'Path of the helm binary (default: helm on PATH).', env: 'KMCP_HELM'}),
  }

  async run(): Promise<void> {
    // Loaded on use: every command class is loaded at start-up (oclif reads their flags), so
    // heavy libraries stay out of `kmcp serve`'s start-up this way.
    const {helmInstall, installFailure} = await import('../../lib/helm/install.ts')
    const {flags} = await this.parse(HelmInstall)
    try {
      await helmInstall({
        release: flags.release,
        namespace: flags.namespace,
        kubeconfig: flags.kubeconfig,
        context: flags.context,
        helm: flags.helm,
        image: flags.image,
        tag: flags.tag,
        values: flags.values,
        set: flags.set,
        authType: flags['auth-type'],
        issuer: flags.issuer,
        audience: flags.audience,
        clientId: flags['client-id'],
        publicUrl: flags['public-url'],
        createNamespace: flags['create-namespace'],
        dryRun: flags['dry-run'],
        render: flags.render,
        wait: flags.wait,
        timeoutSeconds: flags.timeout,
        interactive: canPrompt(),
        progress: new Progress({quiet: flags.render}),
        print: (text) => this.log(text.replace(/\n$/, '')),
      })
    } catch (error) {
      const failure = installFailure(error)
      if (!failure) throw error
      this.error(failure.message, {exit: failure.exit})
    }
  }
}
