/**
 * `kmcp helm install`: installs or upgrades the chart compiled into kmcp with the real helm,
 * after checking what would otherwise fail later (helm, the cluster, the CNPG CRDs, the Secrets,
 * the sign-in settings), then waits for the rollout and prints how to connect. A failed upgrade
 * or rollout is rolled back to the previous revision (a failed first install is removed), which
 * is what `helm --atomic` does; kmcp does it itself so that it can show rollout progress and
 * name what failed.
 */
import {existsSync} from 'node:fs'
import type {KubeClient} from '../k8s/client.ts'
import {createKubeClient} from '../k8s/client.ts'
import {KubeApiError, describeKubeError} from '../k8s/errors.ts'
import {EXIT, SetupFailure} from '../setup/command-support.ts'
import {SetupKubeError, readObject, requireNamespace} from '../setup/kube-objects.ts'
import {createSecrets} from '../setup/secrets.ts'
import {keysSecretName, oidcClientSecretName} from '../setup/secret-names.ts'
import {ChangeLog, MissingAnswerError, Progress, SetupCancelledError, SetupInputError, ask, askYesNo, colour, isPromptExit, renderChanges} from '../setup/ui.ts'
import {writeEmbeddedChart} from './embedded-chart.ts'
import {helmError, openHelm, type Helm} from './helm-cli.ts'
import {missingSignInSettings, parseRendered, type NeededSecret, type RenderedRelease} from './rendered.ts'
import {RolloutError, waitForRollout} from './rollout.ts'
import {serverDryRun} from './server-dry-run.ts'

export interface HelmInstallOptions {
  release: string
  namespace?: string
  kubeconfig?: string
  context?: string
  helm?: string
  image?: string
  tag?: string
  values: string[]
  set: string[]
  authType?: string
  issuer?: string
  audience?: string
  clientId?: string
  publicUrl?: string
  createNamespace: boolean
  dryRun: boolean
  render: boolean
  wait: boolean
  timeoutSeconds: number
  /** Prompting allowed (stdin is a terminal). */
  interactive: boolean
  progress: Progress
  /** Where results go (stdout). */
  print: (text: string) => void
}

/** `--image repo[:tag]` and the other friendly flags, as helm arguments (strings stay strings). */
export function valueArgs(options: Pick<HelmInstallOptions, 'image' | 'tag' | 'values' | 'set' | 'authType' | 'issuer' | 'audience' | 'clientId' | 'publicUrl'>): string[] {
  const args: string[] = []
  for (const file of options.values) {
    if (!existsSync(file)) throw new SetupInputError(`--values ${file}: no such file.`)
    args.push('--values', file)
  }
  for (const assignment of options.set) {
    if (!/^[^=]+=/.test(assignment)) throw new SetupInputError(`--set ${assignment}: expected KEY=VALUE, e.g. --set replicaCount=2.`)
    args.push('--set', assignment)
  }
  const strings: Array<[string, string | undefined]> = []
  if (options.image) {
    // A tag is the part after the last ":" that follows the last "/" (registry ports have a ":" too).
    const slash = options.image.lastIndexOf('/')
    const colon = options.image.lastIndexOf(':')
    const hasTag = colon > slash
    strings.push(['image.repository', hasTag ? options.image.slice(0, colon) : options.image])
    if (hasTag && options.tag === undefined) strings.push(['image.tag', options.image.slice(colon + 1)])
  }
  strings.push(['image.tag', options.tag], ['oidc.authType', options.authType], ['oidc.issuer', options.issuer], ['oidc.audience', options.audience], ['oidc.clientId', options.clientId], ['oidc.publicUrl', options.publicUrl])
  for (const [key, value] of strings) if (value !== undefined) args.push('--set-string', `${key}=${value.replace(/([,\\])/g, '\\$1')}`)
  return args
}

function kubeArgs(options: HelmInstallOptions): string[] {
  return [...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []), ...(options.context ? ['--kube-context', options.context] : [])]
}

async function render(helm: Helm, chartDir: string, namespace: string, options: HelmInstallOptions): Promise<string> {
  const result = await helm.run(['template', options.release, chartDir, '--namespace', namespace, ...valueArgs(options)])
  if (result.code !== 0) throw new SetupInputError(`the chart cannot be rendered with these values:\n${helmError(result)}`)
  return result.stdout
}

/**
 * The message and exit code for a failed run (2: bad input, 1: failed, 130: interrupted); undefined
 * for an unexpected error, which the caller rethrows. Messages already say whether anything was
 * rolled back, so nothing is appended here.
 */
export function installFailure(error: unknown): {message: string; exit: number} | undefined {
  if (isPromptExit(error)) return {message: 'Interrupted: nothing was installed.', exit: EXIT.interrupted}
  if (error instanceof SetupInputError || error instanceof MissingAnswerError) return {message: error.message, exit: EXIT.usage}
  if (error instanceof SetupFailure || error instanceof SetupKubeError || error instanceof SetupCancelledError) return {message: error.message, exit: EXIT.failed}
  return undefined
}

/** Runs everything; returns normally on success, throws SetupFailure/SetupInputError otherwise. */
export async function helmInstall(options: HelmInstallOptions): Promise<void> {
  const {progress} = options
  const helm = await progress.step('finding helm', () => openHelm(options.helm))
  progress.note(colour.dim(`  using ${helm.path} (${helm.version})`))
  const chart = await writeEmbeddedChart()
  try {
    if (options.render) {
      const namespace = options.namespace ?? (await createKubeClient(options).then((k) => k.defaultNamespace, () => 'default'))
      options.print(await render(helm, chart.dir, namespace, options))
      return
    }
    const kube = await progress.step('connecting to the cluster', () => connect(options))
    const namespace = options.namespace ?? kube.defaultNamespace
    const manifests = await progress.step(`rendering the chart for release ${options.release} in namespace ${namespace}`, () => render(helm, chart.dir, namespace, options))
    const release = parseRendered(manifests)
    const missing = missingSignInSettings(release.oidcConfig)
    if (missing.length > 0) {
      throw new SetupInputError(`kmcp would not start: its sign-in settings are incomplete. Give:\n${missing.map((m) => `  ${m}`).join('\n')}\n(or --set oidc.enabled=false to serve without authentication behind something that authenticates).`)
    }
    await progress.step('checking that CloudNativePG is installed', () => requireCnpg(kube))
    const namespaceExists = await progress.step(`checking namespace ${namespace}`, () => checkNamespace(kube, namespace, options.createNamespace))
    if (namespaceExists) await ensureSecrets(kube, namespace, release.secrets, options)

    if (options.dryRun) {
      await reportDryRun(kube, namespace, namespaceExists, release, options)
      return
    }
    await upgradeAndWait(helm, kube, chart.dir, namespace, release, options)
  } finally {
    await chart.remove()
  }
}

/** What an install would do, object by object, as the API server judges it (dryRun=All). */
async function reportDryRun(kube: KubeClient, namespace: string, namespaceExists: boolean, release: RenderedRelease, options: HelmInstallOptions): Promise<void> {
  const changes = new ChangeLog()
  const checked = release.objects.filter((o) => namespaceExists || o.metadata.namespace !== namespace)
  const problems = await options.progress.step(`server-side dry run of ${checked.length} objects`, () => serverDryRun(kube, checked, changes))
  options.print(renderChanges(changes, true))
  if (!namespaceExists) options.print(`Namespace ${namespace} would be created (--create-namespace); the objects in it are checked once it exists.`)
  if (problems.length > 0) throw new SetupFailure(`The API server would reject ${problems.length} object(s):\n${problems.map((p) => `- ${p.object}: ${p.message}`).join('\n')}`)
}

/** helm upgrade --install, the rollout wait, and a rollback when either fails; then how to connect. */
async function upgradeAndWait(helm: Helm, kube: KubeClient, chartDir: string, namespace: string, release: RenderedRelease, options: HelmInstallOptions): Promise<void> {
  const {progress} = options
  const before = await currentRevision(helm, options, namespace)
  const upgradeArgs = ['upgrade', '--install', options.release, chartDir, '--namespace', namespace, ...kubeArgs(options), ...(options.createNamespace ? ['--create-namespace'] : []), '--timeout', `${options.timeoutSeconds}s`, ...valueArgs(options)]
  const upgrade = await progress.step(`helm upgrade --install ${options.release}${before ? ` (now at revision ${before})` : ' (new release)'}`, async () => {
    const result = await helm.run(upgradeArgs)
    if (result.code !== 0) throw new SetupFailure(helmError(result))
    return result
  }).catch((error: Error) => error)
  if (upgrade instanceof Error) {
    throw new SetupFailure(`helm could not ${before ? 'upgrade' : 'install'} release ${options.release}:\n${upgrade.message}\n${await rollBack(helm, options, namespace, before)}`)
  }
  if (options.wait) {
    try {
      await waitForRollout({kube, namespace, deployments: release.deployments, timeoutMs: options.timeoutSeconds * 1000, onProgress: (line) => progress.note(`  ${line}`)})
    } catch (error) {
      const reason = error instanceof RolloutError ? error.message : String(error)
      throw new SetupFailure(`${reason}\n${await rollBack(helm, options, namespace, before)}`)
    }
    progress.note(`${colour.ok('✓')} rolled out: ${release.deployments.map((d) => `deployment/${d}`).join(', ')}`)
  }
  const after = await currentRevision(helm, options, namespace)
  const notes = await helm.run(['get', 'notes', options.release, '--namespace', namespace, ...kubeArgs(options)])
  options.print(`Release ${options.release} is at revision ${after ?? '?'} in namespace ${namespace}${options.wait ? ' and ready' : ' (not waited for: --no-wait)'}.\n`)
  options.print(notes.code === 0 ? notes.stdout.replace(/^NOTES:\n/, '') : `(helm get notes failed: ${helmError(notes)})`)
}

async function connect(options: HelmInstallOptions): Promise<KubeClient> {
  const kube = await createKubeClient(options).catch((error: unknown) => {
    throw new SetupFailure(describeKubeError(error, 'loading the Kubernetes configuration'))
  })
  try {
    await kube.request({method: 'GET', path: '/version'})
  } catch (error) {
    throw new SetupFailure(describeKubeError(error, `reaching the cluster (${kube.configSource})`))
  }
  return kube
}

async function requireCnpg(kube: KubeClient): Promise<void> {
  try {
    const group = await kube.request<{resources?: Array<{name: string}>}>({method: 'GET', path: '/apis/postgresql.cnpg.io/v1'})
    if (!group.resources?.some((r) => r.name === 'clusters')) throw new KubeApiError({status: 404, message: 'the postgresql.cnpg.io/v1 API has no clusters resource', method: 'GET', path: '/apis/postgresql.cnpg.io/v1'})
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) {
      throw new SetupFailure(`CloudNativePG is not installed in the cluster at ${kube.server}: the postgresql.cnpg.io/v1 CRDs (clusters, databases, …) are missing, so kmcp would have nothing to manage. Install the CloudNativePG operator first (its Helm chart or release manifest), then run this again.`)
    }
    throw new SetupFailure(describeKubeError(error, 'checking for the CloudNativePG CRDs'))
  }
}

/** true when the namespace exists; false when it is missing and --create-namespace will make it. */
async function checkNamespace(kube: KubeClient, namespace: string, create: boolean): Promise<boolean> {
  if (!create) {
    await requireNamespace(kube, namespace).catch((error: Error) => {
      throw new SetupFailure(`${error.message.replace(/\.$/, '')}, or pass --create-namespace.`)
    })
    return true
  }
  return (await readObject(kube, `/api/v1/namespaces/${encodeURIComponent(namespace)}`, `reading namespace ${namespace}`)) !== undefined
}

/** Checks that the Secrets the pods mount exist; offers to create the standard ones on a terminal. */
async function ensureSecrets(kube: KubeClient, namespace: string, needed: NeededSecret[], options: HelmInstallOptions): Promise<void> {
  const missing = await options.progress.step(`checking the Secrets the pods need (${needed.map((s) => s.name).join(', ') || 'none'})`, async () => {
    const absent: NeededSecret[] = []
    for (const secret of needed) {
      const stored = await readObject<{data?: Record<string, string>}>(kube, `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(secret.name)}`, `reading Secret ${namespace}/${secret.name}`)
      if (!stored || secret.keys.some((key) => !stored.data?.[key])) absent.push(secret)
    }
    return absent
  })
  if (missing.length === 0) return
  const standard = new Set([oidcClientSecretName(options.release), keysSecretName(options.release)])
  const describe = missing.map((s) => `  ${s.name} (keys ${s.keys.join(', ')}; used by ${s.usedBy})`).join('\n')
  const command = `kmcp secrets create --namespace ${namespace} --release ${options.release}${options.kubeconfig ? ` --kubeconfig ${options.kubeconfig}` : ''}${options.context ? ` --context ${options.context}` : ''}`
  const creatable = missing.every((s) => standard.has(s.name))
  if (options.dryRun) {
    options.print(`Missing Secrets (the pods could not start without them):\n${describe}\nCreate them with: ${creatable ? command : 'kubectl create secret generic …'}`)
    return
  }
  if (creatable && options.interactive) {
    const create = await askYesNo({interactive: true, value: undefined, message: `Secrets missing in ${namespace}: ${missing.map((s) => s.name).join(', ')}. Create them now (as kmcp secrets create does)?`, default: true})
    if (create) {
      await createSecrets({
        kube,
        namespace,
        release: options.release,
        askClientSecret: () => ask({interactive: true, value: undefined, flag: '--client-secret-file', message: 'Upstream OAuth client secret:', secret: true}),
        rotate: false,
        dryRun: false,
        confirm: async () => {},
        changes: new ChangeLog(),
        progress: options.progress,
      })
      return
    }
  }
  throw new SetupFailure(
    `Secrets the kmcp pods mount are missing in namespace ${namespace}:\n${describe}\n` +
      (creatable ? `Create them with:\n  ${command} --client-secret-file FILE\nthen run kmcp helm install again.` : 'Create them (see docs/deploy.md), then run kmcp helm install again.'),
  )
}

/** The release's latest revision, or undefined when it does not exist yet. */
async function currentRevision(helm: Helm, options: HelmInstallOptions, namespace: string): Promise<number | undefined> {
  const result = await helm.run(['history', options.release, '--namespace', namespace, ...kubeArgs(options), '--max', '1', '--output', 'json'])
  if (result.code !== 0) {
    if (/not found/i.test(result.stderr)) return undefined
    throw new SetupFailure(`helm history ${options.release} failed: ${helmError(result)}`)
  }
  const entries = JSON.parse(result.stdout || '[]') as Array<{revision: number}>
  return entries.at(-1)?.revision
}

/** Returns the release to where it was before this run, and says what it did. */
async function rollBack(helm: Helm, options: HelmInstallOptions, namespace: string, before: number | undefined): Promise<string> {
  const now = await currentRevision(helm, options, namespace).catch(() => undefined)
  if (now === before) return 'Nothing was changed: the release stays as it was.'
  if (before === undefined) {
    const removed = await helm.run(['uninstall', options.release, '--namespace', namespace, ...kubeArgs(options)])
    return removed.code === 0
      ? `Rolled back: the failed first install of ${options.release} was removed (helm uninstall); nothing of it is left.`
      : `Could not remove the failed install (${helmError(removed)}); remove it with: helm uninstall ${options.release} --namespace ${namespace}`
  }
  const rolled = await helm.run(['rollback', options.release, String(before), '--namespace', namespace, ...kubeArgs(options)])
  return rolled.code === 0
    ? `Rolled back: release ${options.release} is back at revision ${before}, as it was before this run (helm rollback).`
    : `Could not roll back (${helmError(rolled)}); do it with: helm rollback ${options.release} ${before} --namespace ${namespace}`
}
