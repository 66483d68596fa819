/**
 * The whole `kmcp setup auth0` run: answers (flags, environment or prompts), a read-only pass
 * that shows what would change, one confirmation, the real pass, the files, and optionally the
 * Kubernetes Secrets through `kmcp secrets create`'s own code.
 */
import {join} from 'node:path'
import {createKubeClient} from '../k8s/client.ts'
import {domainProblem, normaliseDomain, publicUrlProblem, setupAuth0, type Auth0Credentials, type Auth0SetupOptions, type Auth0SetupResult} from './auth0.ts'
import {helmValuesYaml, oidcConfigYaml} from './auth0-outputs.ts'
import {writeManagedFile} from './files.ts'
import {OIDC_CLIENT_SECRET_KEYS} from './secret-names.ts'
import {createSecrets, writeSecretFiles} from './secrets.ts'
import {ChangeLog, MissingAnswerError, Progress, ask, askYesNo, choose, confirmOrFail, describeTarget} from './ui.ts'

const DEFAULT_RELEASE = 'kmcp'

export interface Auth0Answers {
  domain?: string
  mgmtClientId?: string
  mgmtClientSecret?: string
  mgmtToken?: string
  publicUrl?: string
  audience?: string
  name: string
  testClient?: boolean
  enableDcr?: boolean
  connections?: string[]
  oidcConfigOut: string
  valuesOut: string
  secretsDir: string
  createSecret?: boolean
  namespace?: string
  /** Helm release name; default "kmcp" (asked only when the Secrets are created here). */
  release?: string
  kubeconfig?: string
  context?: string
  dryRun: boolean
  yes: boolean
  interactive: boolean
  quiet: boolean
}

export interface Auth0FlowResult {
  result: Auth0SetupResult
  secretsCreated: boolean
  nextSteps: string[]
}

async function askCredentials(answers: Auth0Answers): Promise<Auth0Credentials> {
  if (answers.mgmtToken) return {token: answers.mgmtToken}
  const missingBoth = !answers.mgmtClientId && !answers.mgmtClientSecret
  const method = missingBoth
    ? await choose({
        interactive: answers.interactive,
        value: undefined,
        flag: '--mgmt-client-id and --mgmt-client-secret (or --mgmt-token)',
        message: 'How should kmcp authenticate to the Auth0 Management API?',
        choices: [
          {name: 'A machine-to-machine application (client id and secret)', value: 'client' as const},
          {name: 'A Management API token', value: 'token' as const},
        ],
      })
    : 'client'
  if (method === 'token') {
    return {token: await ask({interactive: answers.interactive, value: undefined, flag: '--mgmt-token', message: 'Management API token:', secret: true})}
  }
  const clientId = await ask({interactive: answers.interactive, value: answers.mgmtClientId, flag: '--mgmt-client-id', message: 'Management API client id:'})
  const clientSecret = await ask({interactive: answers.interactive, value: answers.mgmtClientSecret, flag: '--mgmt-client-secret', message: 'Management API client secret:', secret: true})
  return {clientId, clientSecret}
}

export async function runAuth0Setup(answers: Auth0Answers, changes: ChangeLog): Promise<Auth0FlowResult> {
  const {interactive} = answers
  const domain = normaliseDomain(await ask({interactive, value: answers.domain, flag: '--domain', message: 'Auth0 tenant domain (e.g. your-tenant.us.auth0.com):', validate: domainProblem}))
  const credentials = await askCredentials(answers)
  const publicUrl = (await ask({interactive, value: answers.publicUrl, flag: '--public-url', message: "kmcp's public URL (e.g. https://kmcp.example.com):", validate: publicUrlProblem})).replace(/\/+$/, '')
  const audience = await ask({interactive, value: answers.audience, flag: '--audience', message: 'Identifier of the Auth0 API (the token audience):', default: `${publicUrl}/mcp`})
  const testClient = await askYesNo({interactive, value: answers.testClient, message: 'Also create a test application for kmcp test?', default: false})
  const enableDcr = await askYesNo({interactive, value: answers.enableDcr, message: 'Let MCP clients register with Auth0 directly (tenant dynamic client registration, domain-level connections)?', default: false})
  let connections = answers.connections ?? []
  if (enableDcr && answers.connections === undefined) {
    const text = await ask({interactive, value: undefined, flag: '--connection', message: 'Connections to promote to domain level (comma-separated, empty for none):', default: ''})
    connections = text.split(',').map((c) => c.trim()).filter(Boolean)
  }
  const createSecret = await askYesNo({interactive, value: answers.createSecret, message: 'Store the client secret in the cluster now (kmcp secrets create)?', default: false})
  let namespace = answers.namespace
  let release = answers.release ?? DEFAULT_RELEASE
  const kube = createSecret ? await createKubeClient({kubeconfig: answers.kubeconfig, context: answers.context}) : undefined
  if (kube) {
    namespace = await ask({interactive, value: answers.namespace, flag: '--namespace', message: 'Namespace of the kmcp Helm release:', default: kube.defaultNamespace})
    release = await ask({interactive, value: answers.release, flag: '--release', message: 'Helm release name:', default: DEFAULT_RELEASE})
  }

  const base: Omit<Auth0SetupOptions, 'dryRun' | 'changes' | 'progress'> = {
    domain, credentials, publicUrl, audience, name: answers.name, testClient, enableDcr, connections,
    needClientSecret: !answers.dryRun,
  }
  let result: Auth0SetupResult
  if (answers.dryRun) {
    result = await setupAuth0({...base, dryRun: true, changes, progress: new Progress({quiet: answers.quiet})})
  } else {
    // Read-only pass first, so the confirmation can say exactly what will change.
    const plan = new ChangeLog()
    await setupAuth0({...base, needClientSecret: false, dryRun: true, changes: plan, progress: new Progress({quiet: answers.quiet})})
    const pending = plan.changes.filter((c) => c.outcome.startsWith('would'))
    if (pending.length) {
      await confirmOrFail({interactive, yes: answers.yes, message: `Change the Auth0 tenant ${domain}: ${pending.map((c) => `${c.outcome.replace('would ', '')} ${describeTarget(c)}`).join('; ')}?`})
    }
    // Progress lines only when something changes; otherwise the check above already showed them.
    result = await setupAuth0({...base, dryRun: false, changes, progress: new Progress({quiet: answers.quiet || pending.length === 0})})
  }

  const clientSecret = result.serverClient.clientSecret
  if (clientSecret) {
    await writeManagedFile(join(answers.secretsDir, OIDC_CLIENT_SECRET_KEYS.clientSecret), clientSecret, {mode: 0o600, dryRun: answers.dryRun, changes, detail: 'upstream client secret'})
  }
  await writeManagedFile(answers.oidcConfigOut, oidcConfigYaml(result, answers.secretsDir), {dryRun: answers.dryRun, changes, detail: 'kmcp serve --oidc-config'})
  await writeManagedFile(answers.valuesOut, helmValuesYaml(result, release), {dryRun: answers.dryRun, changes, detail: 'Helm values'})

  let secretsCreated = false
  if (kube && namespace) {
    const secrets = await createSecrets({
      kube,
      namespace,
      release,
      clientSecret,
      rotate: false,
      dryRun: answers.dryRun,
      // The Auth0 change was already confirmed; the Secrets are part of the same request.
      confirm: async () => {},
      askClientSecret: async () => {
        throw new MissingAnswerError('--mgmt-client-id/--mgmt-client-secret with read:client_keys', 'The client secret of the server application')
      },
      changes,
      progress: new Progress({quiet: answers.quiet}),
    })
    if (!answers.dryRun) await writeSecretFiles(answers.secretsDir, secrets.values, changes)
    secretsCreated = !answers.dryRun
  }

  const nextSteps = [
    secretsCreated
      ? `Secrets are in namespace ${namespace}; local secret files in ${answers.secretsDir}.`
      : `Create the Kubernetes Secrets: kmcp secrets create --namespace NAMESPACE --release ${release} --client-secret-file ${join(answers.secretsDir, OIDC_CLIENT_SECRET_KEYS.clientSecret)} --out-dir ${answers.secretsDir}`,
    `Install: helm upgrade --install ${release} chart/ -f ${answers.valuesOut}`,
    `Or run locally: kmcp serve --transport http --oidc-config ${answers.oidcConfigOut}`,
  ]
  return {result, secretsCreated, nextSteps}
}
