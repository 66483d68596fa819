// `kmcp helm install` run as a process against the real API server with the real helm. kmcp's
// own image cannot run here, so the tests play what would report it running (markReleaseRolledOut:
// the kubelet's pod readiness on the real node, the Deployment controller's status without it).
import {before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {dirname} from 'node:path'
import {kmcpCommand, REPO_ROOT} from '../support/mcp.ts'
import {createNamespace, getObject, harness, kubeRequest} from '../support/kube.ts'
import {startHarness} from '../support/global-setup.ts'
import {keysSecretName, oidcClientSecretName} from '../../src/lib/setup/secret-names.ts'
import {rbacObjectNames} from '../../src/lib/setup/rbac-rules.ts'
import {createChartSecrets, helm, helmPath, installFlags, markReleaseRolledOut, realDeploymentController, runKmcp} from './helpers.ts'

async function checksum(namespace: string, name: string): Promise<string> {
  const deployment = await getObject('apps/v1', 'Deployment', namespace, name)
  return deployment!.spec.template.metadata.annotations['checksum/config']
}

describe('kmcp helm install into a fresh namespace', () => {
  const release = 'kmcp'
  // The release name contains the chart name, so the objects are named after the release alone.
  const fullname = 'kmcp'
  let namespace: string
  let firstChecksum: string
  let secondChecksum: string

  before(async () => {
    namespace = await createNamespace('helm-install')
    await createChartSecrets(namespace, release)
  })

  test('--dry-run checks every object with the API server and stores nothing', async () => {
    const result = await runKmcp(['helm', 'install', ...installFlags(namespace, release), '--dry-run'])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /would create\s+Deployment\s+\S+\s+kmcp\n/)
    assert.match(result.stdout, /Dry run: nothing was stored/)
    assert.equal(await getObject('apps/v1', 'Deployment', namespace, fullname), undefined)
    assert.equal(helm('status', release, '--namespace', namespace).code, 1, 'no release exists')
  })

  test('installs the Deployment, Service, ServiceAccount, bindings and ConfigMap, waits for the rollout and prints how to connect', async () => {
    const result = await runKmcp(['helm', 'install', ...installFlags(namespace, release), '--timeout', '90'], {whileRunning: () => markReleaseRolledOut(namespace, release)})
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
    assert.match(result.stderr, /✓ checking that CloudNativePG is installed/)
    assert.match(result.stderr, /deployment\/kmcp: 2\/2 updated, 2\/2 available/)
    assert.match(result.stderr, /✓ rolled out: deployment\/kmcp, deployment\/kmcp-redis/)
    assert.match(result.stdout, /Release kmcp is at revision 1 in namespace \S+ and ready/)
    assert.match(result.stdout, /https:\/\/kmcp\.example\.com\/mcp/)
    assert.match(result.stdout, /"mcpServers": \{"kmcp": \{"type": "http", "url": "https:\/\/kmcp\.example\.com\/mcp"\}\}/)

    const names = rbacObjectNames(fullname, namespace)
    for (const [apiVersion, kind, name] of [
      ['apps/v1', 'Deployment', fullname],
      ['apps/v1', 'Deployment', `${fullname}-redis`],
      ['v1', 'Service', fullname],
      ['v1', 'ServiceAccount', fullname],
      ['v1', 'ConfigMap', `${fullname}-oidc`],
      ['v1', 'PersistentVolumeClaim', `${fullname}-redis-data`],
      ['policy/v1', 'PodDisruptionBudget', fullname],
      ['rbac.authorization.k8s.io/v1', 'Role', names.role],
      ['rbac.authorization.k8s.io/v1', 'RoleBinding', names.roleBinding],
      ['rbac.authorization.k8s.io/v1', 'RoleBinding', names.cnpgRoleBinding('cnpg-cloudnative-pg-view')],
      ['rbac.authorization.k8s.io/v1', 'RoleBinding', names.cnpgRoleBinding('cnpg-cloudnative-pg-edit')],
    ]) {
      assert.ok(await getObject(apiVersion, kind, namespace, name), `${kind} ${name} exists`)
    }
    const config = await getObject('v1', 'ConfigMap', namespace, `${fullname}-oidc`)
    assert.match(config!.data['oidc.yaml'], /issuer: "https:\/\/id\.example\.com\/"/)
    assert.equal(await getObject('networking.k8s.io/v1', 'Ingress', namespace, fullname), undefined)
    firstChecksum = await checksum(namespace, fullname)
  })

  test('an upgrade with a changed config value (and Ingress + HPA on) changes the pod template checksum', async () => {
    const result = await runKmcp(
      ['helm', 'install', ...installFlags(namespace, release, {'--issuer': 'https://other-id.example.com/'}), '--set', 'ingress.enabled=true', '--set', 'ingress.host=kmcp.example.com', '--set', 'autoscaling.enabled=true', '--timeout', '90'],
      {whileRunning: () => markReleaseRolledOut(namespace, release)},
    )
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
    assert.match(result.stdout, /at revision 2/)
    secondChecksum = await checksum(namespace, fullname)
    assert.notEqual(secondChecksum, firstChecksum)
    assert.ok(await getObject('networking.k8s.io/v1', 'Ingress', namespace, fullname), 'Ingress created')
    assert.ok(await getObject('autoscaling/v2', 'HorizontalPodAutoscaler', namespace, fullname), 'HPA created')
  })

  test('an upgrade whose rollout never finishes is rolled back to the previous revision, and says so', async () => {
    const result = await runKmcp(['helm', 'install', ...installFlags(namespace, release, {'--client-id': 'another-client'}), '--set', 'ingress.enabled=true', '--set', 'autoscaling.enabled=true', '--timeout', '3'])
    assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`)
    assert.match(result.stderr, /the rollout did not finish within 3 s: deployment\/kmcp /)
    assert.match(result.stderr, /Rolled back: release kmcp is back at revision 2, as it was before this run \(helm rollback\)/)
    assert.equal(await checksum(namespace, fullname), secondChecksum, 'the pod template is the one of revision 2 again')
    const history = JSON.parse(helm('history', release, '--namespace', namespace, '--output', 'json').stdout) as Array<{revision: number; status: string; description: string}>
    assert.deepEqual(history.map((h) => h.status), ['superseded', 'superseded', 'superseded', 'deployed'])
    assert.match(history.at(-1)!.description, /Rollback to 2/)
  })
  test('a rollout the Deployment controller reports as stalled fails at once (not at the timeout) and is rolled back', async () => {
    const stall = async () => {
      const deployment = await getObject('apps/v1', 'Deployment', namespace, fullname)
      if (!deployment) return
      if (realDeploymentController()) {
        // The real controller declares the stall: the new pods never become ready, and the deadline is 1 s.
        if (deployment.spec?.progressDeadlineSeconds !== 1) await kubeRequest('admin', 'PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${fullname}`, {spec: {progressDeadlineSeconds: 1}})
        return
      }
      if (deployment.status?.observedGeneration === deployment.metadata.generation) return
      await kubeRequest('admin', 'PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${fullname}/status`, {
        status: {observedGeneration: deployment.metadata.generation, replicas: 1, updatedReplicas: 0, conditions: [{type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet has timed out progressing.'}]},
      })
    }
    const started = Date.now()
    const result = await runKmcp(['helm', 'install', ...installFlags(namespace, release, {'--client-id': 'stalled-client'}), '--set', 'ingress.enabled=true', '--set', 'autoscaling.enabled=true', '--timeout', '120'], {whileRunning: stall})
    assert.equal(result.code, 1, result.stderr)
    assert.ok(Date.now() - started < 60_000, 'did not wait for the 120 s timeout')
    assert.match(result.stderr, /deployment\/kmcp stopped progressing: ReplicaSet ("[^"]+" )?has timed out progressing/)
    assert.match(result.stderr, /Rolled back: release kmcp is back at revision 4/)
    assert.equal(await checksum(namespace, fullname), secondChecksum)
  })
})

describe('kmcp helm install refuses bad situations with one clear message', () => {
  let namespace: string
  before(async () => {
    namespace = await createNamespace('helm-bad')
  })

  test('missing Secrets: names them and the command that makes them; nothing is installed', async () => {
    const result = await runKmcp(['helm', 'install', ...installFlags(namespace, 'r')])
    assert.equal(result.code, 1)
    assert.match(result.stderr, new RegExp(`Secrets the kmcp pods mount are missing in namespace ${namespace}`))
    assert.match(result.stderr, new RegExp(`${oidcClientSecretName('r')} \\(keys client_secret`))
    assert.match(result.stderr, new RegExp(keysSecretName('r')))
    assert.match(result.stderr, new RegExp(`kmcp secrets create --namespace ${namespace} --release r`))
    assert.equal(helm('status', 'r', '--namespace', namespace).code, 1, 'no release was made')
  })

  test('helm missing: PATH without helm and no --helm', async () => {
    const flags = installFlags(namespace, 'r')
    flags.splice(flags.indexOf('--helm'), 2)
    const result = await runKmcp(['helm', 'install', ...flags], {env: {PATH: dirname(process.execPath)}})
    assert.equal(result.code, 1)
    assert.match(result.stderr, /helm is not installed \(no "helm" on PATH\)/)
  })

  test('an unknown flag', async () => {
    const result = await runKmcp(['helm', 'install', '--relase', 'x'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /Nonexistent flag: --relase/)
  })

  test('incomplete sign-in settings: names the flags to give', async () => {
    const result = await runKmcp(['helm', 'install', '--kubeconfig', harness().kubeconfigPath, '--helm', helmPath(), '--namespace', namespace, '--release', 'r'])
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /sign-in settings are incomplete/)
    assert.match(result.stderr, /--issuer/)
    assert.match(result.stderr, /--public-url/)
  })

  test('a value the schema rejects: service.port "http", with helm\'s message (also in --render)', async () => {
    for (const mode of [[], ['--render']]) {
      const result = await runKmcp(['helm', 'install', ...installFlags(namespace, 'r'), '--set', 'service.port=http', ...mode])
      assert.equal(result.code, 2, result.stderr)
      assert.match(result.stderr, /the chart cannot be rendered with these values/)
      assert.match(result.stderr, /service\/port.*got string, want integer/)
    }
  })

  test('a namespace that does not exist', async () => {
    const result = await runKmcp(['helm', 'install', ...installFlags('no-such-namespace-x1', 'r')])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /Namespace "no-such-namespace-x1" does not exist/)
    assert.match(result.stderr, /--create-namespace/)
  })

  test('a failed first install (helm rejects an object) is removed and says so', async () => {
    await createChartSecrets(namespace, 'bad')
    // An Ingress host with a space passes the chart's schema but not the API server's validation.
    const result = await runKmcp(['helm', 'install', ...installFlags(namespace, 'bad'), '--set', 'ingress.enabled=true', '--set', 'ingress.host=not a host'])
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /helm could not install release bad/)
    assert.match(result.stderr, /Rolled back: the failed first install of bad was removed/)
    assert.equal(helm('status', 'bad', '--namespace', namespace).code, 1)
    assert.equal(await getObject('apps/v1', 'Deployment', namespace, 'bad-kmcp'), undefined)
  })

  test('--render prints the manifests without touching the cluster', async () => {
    const result = await runKmcp(['helm', 'install', ...installFlags(namespace, 'r'), '--render'])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /kind: Deployment/)
    assert.match(result.stdout, /checksum\/config: [0-9a-f]{64}/)
  })
})

describe('a cluster without the CloudNativePG CRDs', () => {
  test('is refused before anything is installed', {timeout: 120_000}, async (t) => {
    // A second, bare API server: the shared one has the CRDs and cannot lose them mid-run.
    const bare = await startHarness({args: ['--no-controller-manager']})
    t.after(() => bare.stop())
    const result = await runKmcp(['helm', 'install', ...installFlags('default', 'r', {'--kubeconfig': bare.kubeconfigPath})])
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /CloudNativePG is not installed in the cluster at https:\/\/127\.0\.0\.1:\d+: the postgresql\.cnpg\.io\/v1 CRDs/)
  })
})

describe('on a terminal', () => {
  const hasScript = spawnSync('sh', ['-c', 'command -v script'], {encoding: 'utf8'}).stdout.trim() !== ''
  test('missing Secrets are offered, then created with the typed client secret, and the install goes on', {skip: hasScript ? false : 'needs util-linux "script" for a pseudo-terminal'}, async () => {
    const namespace = await createNamespace('helm-tty')
    const cmd = kmcpCommand('helm', 'install', ...installFlags(namespace, 'tty'), '--no-wait')
    const quoted = [cmd.command, ...cmd.args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ')
    // script(1) gives kmcp a pseudo-terminal, so it may prompt; the test answers like a person.
    const child = spawn('script', ['-qfec', quoted, '/dev/null'], {cwd: REPO_ROOT, env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', TERM: 'dumb', OCLIF_COLUMNS: '10000'}, stdio: ['pipe', 'pipe', 'pipe']})
    let output = ''
    const answered = new Set<string>()
    const answer = (when: RegExp, text: string) => {
      if (!answered.has(text) && when.test(output)) {
        answered.add(text)
        setTimeout(() => child.stdin.write(text), 100)
      }
    }
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
      answer(/Create them now/, 'y\r')
      answer(/Upstream OAuth client secret/, 'typed-secret\r')
    })
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
      child.once('exit', (exitCode) => {
        clearTimeout(timer)
        resolve(exitCode)
      })
    })
    assert.equal(code, 0, output)
    assert.match(output, /Secrets missing in .*: tty-oidc-client, tty-keys/)
    assert.doesNotMatch(output, /typed-secret/, 'the typed secret is not echoed')
    assert.match(output, /Release tty is at revision 1/)
    const secret = await getObject('v1', 'Secret', namespace, oidcClientSecretName('tty'))
    assert.equal(Buffer.from(secret!.data.client_secret, 'base64').toString(), 'typed-secret')
    assert.ok(await getObject('v1', 'Secret', namespace, keysSecretName('tty')))
  })
})
