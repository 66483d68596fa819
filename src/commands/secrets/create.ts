import {readFile} from 'node:fs/promises'
import {Command, Flags} from '@oclif/core'
import {commonFlags, kubeFlags, printJson, exitWithFailure} from '../../lib/setup/command-support.ts'
import {ChangeLog, Progress, SetupInputError, ask, canPrompt, confirmOrFail, renderChanges} from '../../lib/setup/ui.ts'

export default class SecretsCreate extends Command {
  static override summary = 'Create the Kubernetes Secrets the kmcp Helm chart mounts.'
  static override description = [
    'Writes <release>-oidc-client (key client_secret: the upstream OAuth client secret) and <release>-keys (jwt_signing_key: 256-bit hex; storage_encryption_key: Fernet-format key) in the release namespace. Keys are generated with a secure RNG unless given.',
    'Existing keys are never overwritten unless --rotate; a rotation keeps the old storage key in previous_storage_encryption_keys so stored sessions survive. Running it again changes nothing.',
    'Secret values are never printed unless --show-secrets.',
  ].join('\n')

  static override examples = [
    '<%= config.bin %> secrets create --namespace kmcp --release kmcp --client-secret-file ./client-secret.txt',
    '<%= config.bin %> secrets create -n kmcp --release kmcp --rotate --yes',
    '<%= config.bin %> secrets create -n kmcp --release kmcp --out-dir ./.kmcp-secrets --dry-run',
    '<%= config.bin %> secrets create -n mcp --release kmcp --from-release cnpg-mcp --yes',
  ]

  static override flags = {
    ...kubeFlags,
    namespace: Flags.string({char: 'n', summary: 'Namespace of the Helm release (default: the kubeconfig context namespace).'}),
    release: Flags.string({default: 'kmcp', summary: 'Helm release name; the Secrets are named <release>-oidc-client and <release>-keys.'}),
    'client-secret-file': Flags.string({summary: 'File holding the upstream OAuth client secret ("-" reads stdin).', exclusive: ['client-secret']}),
    'client-secret': Flags.string({summary: 'The upstream OAuth client secret (prefer --client-secret-file or $KMCP_OIDC_CLIENT_SECRET: command lines are visible to other users).', env: 'KMCP_OIDC_CLIENT_SECRET'}),
    'skip-client-secret': Flags.boolean({default: false, summary: 'Do not create <release>-oidc-client (e.g. a provider without a client secret).'}),
    'jwt-signing-key': Flags.string({summary: 'Use this JWT signing key (64 hex characters) instead of generating one.'}),
    'storage-encryption-key': Flags.string({summary: 'Use this storage encryption key (Fernet format) instead of generating one.'}),
    'from-release': Flags.string({summary: "Take the keys of this Python-reference release (its Secrets' server-client-secret, jwt-signing-key, storage-encryption-key) instead of generating them, so tokens and stored sessions survive the move."}),
    rotate: Flags.boolean({default: false, summary: 'Replace existing keys (and the client secret if given); the old storage key stays in the key ring.'}),
    'out-dir': Flags.string({summary: 'Also write the values to files in this directory (mode 0600) for running kmcp serve locally.'}),
    'show-secrets': Flags.boolean({default: false, summary: 'Print the secret values in the result.'}),
    ...commonFlags,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(SecretsCreate)
    // Loaded on use: every command class is loaded at start-up (oclif reads their flags), so
    // heavy libraries stay out of `kmcp serve`'s start-up this way.
    const [{createKubeClient}, {createSecrets, writeSecretFiles}] = await Promise.all([import('../../lib/k8s/client.ts'), import('../../lib/setup/secrets.ts')])
    const changes = new ChangeLog()
    const interactive = canPrompt() && !flags.json
    const progress = new Progress({quiet: flags.json})
    try {
      const kube = await createKubeClient({kubeconfig: flags.kubeconfig, context: flags.context})
      const namespace = flags.namespace ?? kube.defaultNamespace
      let clientSecret = await readClientSecret(flags['client-secret-file'], flags['client-secret'])
      let jwtSigningKey = flags['jwt-signing-key']
      let storageEncryptionKey = flags['storage-encryption-key']
      if (flags['from-release']) {
        const {readReferenceRelease} = await import('../../lib/setup/reference-release.ts')
        const reference = await progress.step(`reading the keys of release ${flags['from-release']}`, () => readReferenceRelease(kube, namespace, flags['from-release']!))
        clientSecret ??= reference.clientSecret
        jwtSigningKey ??= reference.jwtSigningKey
        storageEncryptionKey ??= reference.storageEncryptionKey
      }
      const result = await createSecrets({
        kube,
        namespace,
        release: flags.release,
        clientSecret,
        askClientSecret: flags['skip-client-secret']
          ? async () => undefined
          : () => ask({interactive, value: undefined, flag: '--client-secret-file (or --skip-client-secret)', message: 'Upstream OAuth client secret:', secret: true}),
        jwtSigningKey,
        storageEncryptionKey,
        rotate: flags.rotate,
        dryRun: flags['dry-run'],
        confirm: (summary) => confirmOrFail({interactive, yes: flags.yes, message: summary}),
        changes,
        progress,
      })
      if (flags['out-dir'] && !flags['dry-run']) await writeSecretFiles(flags['out-dir'], result.values, changes)
      const shown = flags['show-secrets'] ? {values: result.values} : {}
      if (flags.json) {
        printJson({ok: true, dryRun: flags['dry-run'], changed: changes.changedAnything, namespace, secrets: result.secrets, changes: changes.changes, ...shown})
        return
      }
      this.log(renderChanges(changes, flags['dry-run']))
      if (flags['show-secrets']) this.log(JSON.stringify(result.values, null, 2))
    } catch (error) {
      exitWithFailure(this, error, changes, flags.json)
    }
  }
}

async function readClientSecret(file: string | undefined, value: string | undefined): Promise<string | undefined> {
  if (file === undefined) return value
  try {
    const text = file === '-' ? await readStdin() : await readFile(file, 'utf8')
    const secret = text.trim()
    if (!secret) throw new SetupInputError(`--client-secret-file ${file} is empty.`)
    return secret
  } catch (error) {
    if (error instanceof SetupInputError) throw error
    throw new SetupInputError(`--client-secret-file: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`)
  }
}

async function readStdin(): Promise<string> {
  let text = ''
  for await (const chunk of process.stdin) text += String(chunk)
  return text
}

