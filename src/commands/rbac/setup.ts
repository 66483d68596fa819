import {Command, Flags} from '@oclif/core'
import {EXIT, commonFlags, kubeFlags, printJson, exitWithFailure} from '../../lib/setup/command-support.ts'
import type {AccessRow, RbacTarget} from '../../lib/setup/rbac.ts'
import {ChangeLog, Progress, canPrompt, confirmOrFail, describeTarget, renderChanges} from '../../lib/setup/ui.ts'

export default class RbacSetup extends Command {
  static override summary = "Create kmcp's ServiceAccount and least-privilege RBAC, then verify it."
  static override description = [
    'Creates the ServiceAccount, RoleBindings to the CNPG chart ClusterRoles cnpg-cloudnative-pg-view and -edit in every target namespace (ClusterRoleBindings with --cluster-wide), a Role for what those do not cover (role Secrets, PVCs and Pods for instance replacement, clusters/status for switchover, pod logs and events for diagnosis; pods/proxy for live instance status with --allow-pod-proxy), and with --impersonate a ClusterRole allowing only impersonation.',
    'Then asks the API server with SubjectAccessReviews whether the account can do everything kmcp needs and cannot do what it must not, and prints the table. --check only verifies. Running it again changes nothing.',
    '--kubeconfig-out writes a kubeconfig for the ServiceAccount (token from the TokenRequest API) to run kmcp serve outside the cluster with exactly those rights.',
  ].join('\n')

  static override examples = [
    '<%= config.bin %> rbac setup --namespace kmcp --target-namespace team-a --target-namespace team-b',
    '<%= config.bin %> rbac setup -n kmcp --cluster-wide --impersonate --yes',
    '<%= config.bin %> rbac setup -n kmcp --target-namespace team-a --check',
    '<%= config.bin %> rbac setup -n kmcp --target-namespace team-a --kubeconfig-out ./kmcp.kubeconfig',
  ]

  static override flags = {
    ...kubeFlags,
    namespace: Flags.string({char: 'n', summary: "Namespace of kmcp's ServiceAccount (default: the kubeconfig context namespace)."}),
    'service-account': Flags.string({default: 'kmcp', summary: 'ServiceAccount name (also the base name of the Roles and bindings).'}),
    'target-namespace': Flags.string({char: 't', multiple: true, summary: 'Namespace kmcp may manage (repeatable; default: the ServiceAccount namespace).'}),
    'cluster-wide': Flags.boolean({default: false, summary: 'Grant the rights in every namespace (ClusterRoleBindings) instead of per target namespace.'}),
    impersonate: Flags.boolean({default: false, summary: 'Also allow impersonating users and groups (kmcp serve --impersonate).'}),
    'allow-pod-proxy': Flags.boolean({default: false, summary: 'Also allow get on pods/proxy: get_cluster_status detail_level="detailed" then shows live replication status from the instance managers.'}),
    check: Flags.boolean({default: false, summary: 'Only verify the rights (SubjectAccessReviews); change nothing.'}),
    'kubeconfig-out': Flags.string({summary: 'Write a kubeconfig for the ServiceAccount to this file (mode 0600).'}),
    'token-expiration': Flags.integer({default: 86_400, min: 600, summary: 'Lifetime in seconds of the --kubeconfig-out token (the API server may shorten it).'}),
    ...commonFlags,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(RbacSetup)
    // Loaded on use: every command class is loaded at start-up (oclif reads their flags), so
    // heavy libraries stay out of `kmcp serve`'s start-up this way.
    const [{createKubeClient}, {renderAccessTable, serviceAccountUser, setupRbac, verifyRbac, writeServiceAccountKubeconfig}] = await Promise.all([import('../../lib/k8s/client.ts'), import('../../lib/setup/rbac.ts')])
    const changes = new ChangeLog()
    const interactive = canPrompt() && !flags.json
    const progress = new Progress({quiet: flags.json})
    const dryRun = flags['dry-run']
    let failedChecks = 0
    try {
      const kube = await createKubeClient({kubeconfig: flags.kubeconfig, context: flags.context})
      const namespace = flags.namespace ?? kube.defaultNamespace
      const target: RbacTarget = {
        namespace,
        serviceAccount: flags['service-account'],
        targetNamespaces: [...new Set(flags['target-namespace'] ?? [namespace])],
        clusterWide: flags['cluster-wide'],
        impersonate: flags.impersonate,
        podProxy: flags['allow-pod-proxy'],
      }
      if (!flags.check) {
        if (dryRun) {
          await setupRbac({...target, kube, dryRun: true, changes, progress})
        } else {
          // Dry-run pass first: the API server says what would change, and only then do we ask.
          const plan = new ChangeLog()
          await setupRbac({...target, kube, dryRun: true, changes: plan, progress: new Progress({quiet: true})})
          const pending = plan.changes.filter((c) => c.outcome.startsWith('would'))
          if (pending.length) {
            await confirmOrFail({interactive, yes: flags.yes, message: `Apply for ${serviceAccountUser(target)}: ${pending.map((c) => `${c.outcome.replace('would ', '')} ${describeTarget(c)}`).join(', ')}?`})
          }
          await setupRbac({...target, kube, dryRun: false, changes, progress})
        }
      }
      const rows: AccessRow[] = dryRun ? [] : await verifyRbac(kube, target, progress)
      if (flags['kubeconfig-out'] && !dryRun) {
        await writeServiceAccountKubeconfig(kube, target, {path: flags['kubeconfig-out'], expirationSeconds: flags['token-expiration'], changes, progress})
      }
      const failed = rows.filter((r) => !r.ok)
      if (flags.json) {
        printJson({ok: failed.length === 0, dryRun, changed: changes.changedAnything, serviceAccount: serviceAccountUser(target), changes: changes.changes, verification: rows})
      } else {
        if (!flags.check || changes.changes.length) this.log(renderChanges(changes, dryRun))
        if (dryRun) this.log('Verification skipped in a dry run (the objects do not exist yet); run with --check afterwards.')
        else this.log(`\nVerification for ${serviceAccountUser(target)}:\n${renderAccessTable(rows)}`)
      }
      failedChecks = failed.length
    } catch (error) {
      exitWithFailure(this, error, changes, flags.json)
    }
    if (failedChecks) this.exit(EXIT.failed)
  }
}
