#!/usr/bin/env node
// A real Kubernetes node for kmcp's tests and demo, beside an already running API server
// (kube-harness): containerd + kubelet + kube-proxy + CoreDNS + kube-scheduler + a second
// kube-controller-manager (job, PV binder, endpoint slices, pod GC, node lifecycle, PVC/PV
// protection), and the official CloudNativePG operator running outside the cluster, so that a
// CNPG Cluster becomes healthy with real PostgreSQL. Root only. Details: docs/kube-harness.md.
//
// This file is the supervisor. It is meant to run as its own process (the CLI below, or
// spawnNode() from a parent): it starts every component, keeps their PIDs, and on SIGTERM/SIGINT or
// when its stdin reaches EOF stops them in order and removes everything the run created
// (runtime-sys.mjs). If it is killed with SIGKILL its components die with it (parent-death signal)
// and the next start removes what is left (containers, namespaces, mounts, cgroups).
//
// CLI:    node scripts/node/runtime.mjs --state <harness-state.json> [--namespaces a,b] [--run-dir DIR]
//         node scripts/node/runtime.mjs cleanup        (remove leftovers of dead runs and exit)
//         prints one line on stdout once the node is Ready and the operator's webhooks answer:
//         READY {"netns": ..., "runDir": ..., ...}
// Module: import { spawnNode, startNode, cleanupLeftovers } from './scripts/node/runtime.mjs'

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ROOT, ensureCoreDns, ensureKubeNode } from '../build-tools.mjs';
import { ensureCnpg } from './cnpg.mjs';
import * as cfg from './runtime-config.mjs';
import * as kube from './runtime-kube.mjs';
import { canConnect, createMountNamespace, createNetwork, startForwarder } from './runtime-net.mjs';
import { Supervisor } from './runtime-procs.mjs';
import { CGROUP_ROOT, NodeRuntimeError, cleanupLeftovers, cleanupRun, commandExists, freeSlot, listRuns, processStartTime, say, sh, shAsync, sleep, withRegistryLock, writeRun } from './runtime-sys.mjs';

export { cleanupLeftovers, NodeRuntimeError };

const STOP_ORDER = ['cnpg-operator', 'kubelet', 'kube-proxy', 'coredns', 'kube-controller-manager', 'kube-scheduler', 'containerd'];
// Debian packages the node needs, installed with apt-get when missing (like scripts/test.mjs does).
const PACKAGES = [
  ['containerd', 'containerd'],
  ['runc', 'runc'],
  ['/usr/lib/cni/bridge', 'containernetworking-plugins'],
  ['iptables', 'iptables'],
  ['ip', 'iproute2'],
  ['nsenter', 'util-linux'],
  ['openssl', 'openssl'],
  ['psql', 'postgresql-client'],
];

export function ensureNodePackages() {
  const missing = PACKAGES.filter(([c]) => (c.startsWith('/') ? !fs.existsSync(c) : !commandExists(c))).map(([, p]) => p);
  if (missing.length === 0) return;
  if (!commandExists('apt-get')) throw new NodeRuntimeError(`missing Debian packages: ${missing.join(' ')} (no apt-get here; install them)`);
  say(`installing ${missing.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  sh('apt-get', ['update', '-qq'], { env });
  sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

function createCgroups(id) {
  const name = `kmcp-${id}`;
  for (const h of fs.readdirSync(CGROUP_ROOT)) {
    const base = path.join(CGROUP_ROOT, h);
    if (!fs.existsSync(path.join(base, 'cgroup.procs'))) continue;
    fs.mkdirSync(path.join(base, name), { recursive: true });
    if (h.includes('cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) fs.writeFileSync(path.join(base, name, f), fs.readFileSync(path.join(base, f), 'utf8').trim());
    }
  }
  return `/${name}`;
}

/** Removes component log folders of runs older than two days. */
function pruneOldLogs(base) {
  let entries = [];
  try {
    entries = fs.readdirSync(base).filter((n) => /^node-[0-9a-f]{8}$/.test(n));
  } catch {}
  for (const n of entries) {
    const dir = path.join(base, n);
    if (Date.now() - fs.statSync(dir).mtimeMs > 2 * 24 * 3600_000) fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function waitFor(what, check, { timeoutMs, intervalMs = 250, alive }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    alive?.();
    if (await check()) return;
    if (Date.now() > deadline) throw new NodeRuntimeError(`${what} not ready within ${timeoutMs / 1000}s`);
    await sleep(intervalMs);
  }
}

/**
 * Starts the node in this process. connection: {server, caFile, token} of an admin user (as in the
 * harness state file). Returns the node's description and stop().
 */
export async function startNode({ server, caFile, token, watchNamespaces = [], runDir, logDir, readyTimeoutMs = 180_000 }) {
  if (process.getuid?.() !== 0) throw new NodeRuntimeError('the real node needs root (network namespaces, mounts, cgroups, containerd)');
  const t0 = Date.now();
  ensureNodePackages();
  const [kubeNodeBin, corednsBin, cnpg] = await Promise.all([ensureKubeNode(), ensureCoreDns(), ensureCnpg()]);
  const { ensureNodeImages } = await import('./images.mjs');
  const images = await ensureNodeImages({ managerBin: cnpg.managerBin });
  // Apart from ensureNodeImages: its own cache key, so adding it rebuilt none of the other images.
  const { ensurePgbouncerImage } = await import('./pgbouncer-image.mjs');
  images.pgbouncer = await ensurePgbouncerImage();
  const tBuilt = Date.now();

  const api = new kube.KubeApi({ server, caFile, token });
  const apiUrl = new URL(server);
  const kubernetesServiceIp = await kube.kubernetesServiceIp(api);

  const id = randomBytes(4).toString('hex');
  const record = await withRegistryLock(async () => {
    await cleanupLeftovers();
    const slot = freeSlot(listRuns());
    const dir = path.resolve(runDir ?? `/tmp/kmcp-node-${id}`);
    if (`${dir}/containerd/containerd.sock.ttrpc`.length > 100) throw new NodeRuntimeError(`run directory ${dir} is too long for unix socket paths; give a shorter --run-dir`);
    const r = { id, pid: process.pid, startTime: processStartTime(process.pid), slot, netns: `kmcp-${id}`, runDir: dir, server, createdAt: new Date().toISOString() };
    writeRun(r);
    return r;
  });
  // Logs outside the run directory, so they survive the clean-up; old ones are pruned.
  const logsBase = path.join(ROOT, '.cache', 'logs');
  pruneOldLogs(logsBase);
  logDir = path.resolve(logDir ?? path.join(logsBase, `node-${id}`));
  let procs;
  let forwarder;
  let provisioner;
  let webhooks = [];
  const stop = async () => {
    const s0 = Date.now();
    if (webhooks.length) await kube.removeWebhooks(api, webhooks).catch(() => {});
    await provisioner?.stop();
    // Short grace: the clean-up kills the containers by cgroup anyway; nothing here keeps data.
    await procs?.stopAll(STOP_ORDER, 3_000);
    const s1 = Date.now();
    forwarder?.close();
    await api.request('DELETE', `/api/v1/persistentvolumes?labelSelector=kmcp.io/node-run%3D${id}`, undefined, { timeoutMs: 5_000 }).catch(() => {});
    if (procs?.get('kubelet')) await api.request('DELETE', `/api/v1/nodes/${cfg.NODE_NAME}`, undefined, { timeoutMs: 5_000 }).catch(() => {});
    await cleanupRun(record, { log: process.env.KMCP_NODE_DEBUG ? say : undefined });
    return { seconds: (Date.now() - s0) / 1000, componentsSeconds: (s1 - s0) / 1000, cleanupSeconds: (Date.now() - s1) / 1000 };
  };
  try {
    fs.mkdirSync(record.runDir, { recursive: true, mode: 0o755 });
    const mountNs = createMountNamespace(record.runDir);
    const net = createNetwork({ netns: record.netns, slot: record.slot, kubernetesServiceIp });
    forwarder = await startForwarder({ listenHost: net.hostIp, listenPort: cfg.APISERVER_FORWARD_PORT, targetHost: apiUrl.hostname, targetPort: Number(apiUrl.port) });
    const cgroupRoot = createCgroups(id);
    procs = new Supervisor({ logDir, mountNs, netns: record.netns, say });
    const R = (...p) => path.join(record.runDir, ...p);
    const nodeKubeconfig = cfg.writeNodeKubeconfig(R('kubeconfig-node.json'), { hostIp: net.hostIp, caFile, token });
    const hostKubeconfig = cfg.writeHostKubeconfig(R('kubeconfig-host.json'), { server, caFile, token });

    // containerd, then the images (a fresh content store per run: runs never share state).
    const ctrd = cfg.writeContainerdConfig(R('containerd'), { pauseRef: images.pause.ref, cniConfDir: R('cni', 'conf'), cniDataDir: R('cni', 'ipam'), podNet: net.podNet });
    procs.start('containerd', 'containerd', ['--config', ctrd.config, '--log-level', 'warn']);
    const ctr = ['--address', ctrd.socket, '-n', 'k8s.io'];
    await waitFor('containerd', () => sh('ctr', [...ctr, 'version'], { allowFail: true }).code === 0, { timeoutMs: 30_000, alive: () => procs.assertRunning('containerd') });
    // One at a time: parallel imports contend for the same index lock in containerd.
    for (const img of [images.pause, images.operator, images.postgres, images.pgbouncer]) {
      await shAsync('ctr', [...ctr, 'images', 'import', '--base-name', img.ref.slice(0, img.ref.lastIndexOf(':')), img.tar], { logFile: path.join(logDir, 'image-import.log') });
    }
    const tImported = Date.now();

    // The node's processes inside the run's namespace; scheduler and controller-manager beside the API server.
    const corefile = cfg.writeCorefile(R('coredns'), { kubeconfig: nodeKubeconfig, podNet: net.podNet });
    procs.start('coredns', corednsBin, ['-conf', corefile], { cwd: R('coredns') });
    // A Node left by an earlier run against this API server would look Ready until its lease expires.
    await api.request('DELETE', `/api/v1/nodes/${cfg.NODE_NAME}`);
    const kubeletConfig = cfg.writeKubeletConfig(R('kubelet'), { socket: ctrd.socket, nodeIp: net.nodeIp, cgroupRoot, podLogsDir: R('pod-logs'), podNet: net.podNet });
    procs.start('kubelet', kubeNodeBin, ['kubelet', `--config=${kubeletConfig}`, `--kubeconfig=${nodeKubeconfig}`, `--hostname-override=${cfg.NODE_NAME}`, `--node-ip=${net.nodeIp}`, `--root-dir=${R('kubelet', 'root')}`, '--v=1']);
    procs.start('kube-proxy', kubeNodeBin, ['kube-proxy', `--config=${cfg.writeKubeProxyConfig(R('kube-proxy'), { kubeconfig: nodeKubeconfig, podNet: net.podNet })}`]);
    procs.start('kube-scheduler', kubeNodeBin, ['kube-scheduler', `--kubeconfig=${hostKubeconfig}`, '--leader-elect=false', '--secure-port=0'], { net: false });
    const controllers = ['job-controller', 'persistentvolume-binder-controller', 'endpointslice-controller', 'pod-garbage-collector-controller', 'node-lifecycle-controller', 'persistentvolume-protection-controller', 'persistentvolumeclaim-protection-controller', 'serviceaccount-controller', 'root-ca-certificate-publisher-controller', 'deployment-controller', 'replicaset-controller'];
    procs.start('kube-controller-manager', kubeNodeBin, ['kube-controller-manager', `--kubeconfig=${hostKubeconfig}`, `--controllers=${controllers.join(',')}`, '--leader-elect=false', `--root-ca-file=${caFile}`, '--secure-port=0', '--use-service-account-credentials=false'], { net: false });

    await kube.prepareNamespaces(api, [...new Set([...watchNamespaces, kube.OPERATOR_NAMESPACE])]);
    await kube.installStorageClass(api);
    provisioner = kube.startProvisioner(api, { volumesDir: R('volumes'), runId: id, say });
    const alive = () => STOP_ORDER.forEach((n) => procs.assertRunning(n));
    await kube.waitNodeReady(api, { timeoutMs: readyTimeoutMs, check: alive });
    const tNode = Date.now();

    // The operator, outside the cluster but inside the run's namespace (it talks to the instance
    // managers on the pods' addresses), with its webhooks served on the run end of the link.
    const dnsName = `${kube.WEBHOOK_SERVICE}.${kube.OPERATOR_NAMESPACE}.svc`;
    const cert = cfg.writeWebhookCert(R('operator', 'certs'), [dnsName, `${dnsName}.cluster.local`]);
    fs.mkdirSync(R('operator', 'operator'), { recursive: true });
    fs.copyFileSync(cnpg.managerBin, R('operator', 'operator', 'manager_amd64'));
    fs.chmodSync(R('operator', 'operator', 'manager_amd64'), 0o755);
    procs.start('cnpg-operator', R('operator', 'operator', 'manager_amd64'), ['controller', '--leader-elect=false', `--webhook-port=${cfg.WEBHOOK_PORT}`], {
      cwd: R('operator'),
      env: {
        KUBECONFIG: nodeKubeconfig,
        OPERATOR_NAMESPACE: kube.OPERATOR_NAMESPACE,
        WATCH_NAMESPACE: watchNamespaces.join(','),
        OPERATOR_IMAGE_NAME: images.operator.ref,
        // The Poolers' PgBouncer image: the operator's default (ghcr.io) cannot be pulled here.
        PGBOUNCER_IMAGE_NAME: images.pgbouncer.ref,
        WEBHOOK_CERT_DIR: R('operator', 'certs'),
      },
    });
    await kube.installWebhookService(api, net.nodeIp);
    await waitFor('the CNPG operator webhook server', () => canConnect(net.nodeIp, cfg.WEBHOOK_PORT), { timeoutMs: 120_000, intervalMs: 500, alive });
    webhooks = kube.webhookConfigurations(cnpg.webhookManifests, cert.caBundle);
    await kube.installWebhooks(api, webhooks);
    const tReady = Date.now();
    const info = {
      id,
      pid: process.pid,
      netns: record.netns,
      runDir: record.runDir,
      logDir,
      nodeName: cfg.NODE_NAME,
      nodeIp: net.nodeIp,
      hostIp: net.hostIp,
      dnsIp: net.podNet.dnsIp,
      podCidr: net.podNet.cidr,
      storageClass: kube.STORAGE_CLASS,
      postgresImage: images.postgres.ref,
      postgresVersion: images.postgres.version,
      operatorImage: images.operator.ref,
      pgbouncerImage: images.pgbouncer.ref,
      pauseImage: images.pause.ref,
      operatorNamespace: kube.OPERATOR_NAMESPACE,
      watchNamespaces,
      timings: { buildsSeconds: (tBuilt - t0) / 1000, imageImportSeconds: (tImported - tBuilt) / 1000, nodeReadySeconds: (tNode - tImported) / 1000, operatorReadySeconds: (tReady - tNode) / 1000, totalSeconds: (tReady - t0) / 1000 },
    };
    return { info, stop, supervisor: procs };
  } catch (error) {
    await stop().catch((e) => say(`clean-up after a failed start: ${e.message}`));
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// As a child process

const SELF = fileURLToPath(import.meta.url);

/**
 * Spawns the supervisor as a child process (stdin kept open: if this process dies, the node stops)
 * and waits for READY. state: the harness state file path. Returns {info, pid, logFile, stop()}.
 * @param {{stateFile: string, watchNamespaces?: string[], runDir?: string, logFile?: string, readyTimeoutMs?: number}} options
 */
export async function spawnNode({ stateFile, watchNamespaces = [], runDir, logFile, readyTimeoutMs = 900_000 }) {
  const args = [SELF, '--state', stateFile, '--namespaces', watchNamespaces.join(',')];
  if (runDir) args.push('--run-dir', runDir);
  const out = logFile ? fs.openSync(logFile, 'a') : 'inherit';
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', out] });
  if (typeof out === 'number') fs.closeSync(out);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new NodeRuntimeError(`the real node was not ready within ${readyTimeoutMs / 1000}s${logFile ? `; see ${logFile}` : ''}`));
    }, readyTimeoutMs);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new NodeRuntimeError(`the real node's supervisor exited before it was ready (${signal ?? `exit ${code}`})${logFile ? `; see ${logFile}` : ''}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(6)));
      }
    });
  });
  child.unref();
  for (const s of [child.stdin, child.stdout]) s?.unref?.();
  return {
    info,
    pid: child.pid,
    child,
    async stop(timeoutMs = 90_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        // A timer of our own, cleared as soon as the supervisor exits: a pending one would keep the
        // caller's process (the test runner) alive for the whole timeout.
        let timer;
        const timedOut = new Promise((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        });
        const first = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        if (first === 'timeout') {
          child.kill('SIGKILL');
          await exited;
          await withRegistryLock(() => cleanupLeftovers());
        }
      }
      return exited;
    },
  };
}

function parseArgs(argv) {
  const opts = { namespaces: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i];
    if (a === '--state') opts.state = value();
    else if (a === '--namespaces') opts.namespaces = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--run-dir') opts.runDir = value();
    else if (a === '--log-dir') opts.logDir = value();
    else if (a === 'cleanup') opts.cleanup = true;
    else throw new NodeRuntimeError(`unknown argument ${a}`);
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.cleanup) {
    const cleaned = await withRegistryLock(() => cleanupLeftovers());
    say(cleaned.length ? `removed ${cleaned.length} dead run(s)` : 'nothing to clean');
    return;
  }
  if (!opts.state) throw new NodeRuntimeError('--state <harness-state.json> is required (the file global-setup.ts writes)');
  const state = JSON.parse(fs.readFileSync(opts.state, 'utf8'));
  let node;
  let stopping;
  const shutdown = (why) => {
    if (stopping) return stopping;
    say(`stopping (${why})`);
    stopping = (async () => {
      if (node) {
        const { seconds, componentsSeconds, cleanupSeconds } = await node.stop();
        say(`stopped and cleaned up in ${seconds.toFixed(1)}s (components ${componentsSeconds.toFixed(1)}s, clean-up ${cleanupSeconds.toFixed(1)}s)`);
      }
      process.exit(0);
    })();
    return stopping;
  };
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => shutdown(s));
  // A parent holding our stdin pipe: its end (the parent died or closed it) stops the node. Not for a
  // terminal (Ctrl-C) nor /dev/null or a file (nohup, systemd), where EOF means nothing.
  const stdin = fs.fstatSync(0);
  if (stdin.isFIFO() || stdin.isSocket()) {
    process.stdin.on('end', () => shutdown('stdin closed'));
    process.stdin.resume();
  }
  node = await startNode({ server: state.server, caFile: state.caFile, token: state.tokens.admin, watchNamespaces: opts.namespaces, runDir: opts.runDir, logDir: opts.logDir });
  if (stopping) return;
  say(`node ${node.info.nodeName} Ready, operator watching ${opts.namespaces.join(',') || '(nothing)'}; ${JSON.stringify(node.info.timings)}; logs: ${node.info.logDir}`);
  process.stdout.write(`READY ${JSON.stringify(node.info)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  main().catch((e) => {
    say(`error: ${e instanceof NodeRuntimeError ? e.message : e.stack}`);
    process.exit(1);
  });
}
