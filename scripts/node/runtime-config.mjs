// Configuration files of the real node's components (scripts/node/runtime.mjs), all written under
// the run directory. The settings follow the proven recipe (docs/kube-harness.md, "Real node").
//
// Addresses (inside the run's own network namespace unless said otherwise):
//   198.18.<slot>.1/30  host end of the link (machine's namespace): the API server forwarder
//   198.18.<slot>.2/30  run end of the link: node InternalIP, kubelet, operator webhook
//   100.64.0.0/24       pod subnet; 100.64.0.1 on the bridge: pod gateway and CoreDNS
//   10.0.0.0/24         Service ClusterIPs (kube-harness's --service-cluster-ip-range; only ever
//                       routed inside the run's namespace, so it cannot collide with the machine's)
// 198.18.0.0/15 (benchmarking, RFC 2544) and 100.64.0.0/10 (shared address space, RFC 6598) are
// reserved ranges that real networks and VPNs rarely route, unlike 10/8, 172.16/12 and 192.168/16.
//
// Plain Node ESM, no dependencies.

import fs from 'node:fs';
import path from 'node:path';
import { sh } from './runtime-sys.mjs';

export const NODE_NAME = 'kmcp-node';
export const POD_CIDR = '100.64.0.0/24';
export const POD_GATEWAY = '100.64.0.1';
export const DNS_IP = POD_GATEWAY;
export const BRIDGE = 'kmcp0';
export const APISERVER_FORWARD_PORT = 6443;
export const WEBHOOK_PORT = 9443;
export const NODE_TAINT = { key: 'kmcp.io/real-node', value: 'true', effect: 'NoSchedule' };
export const DEFAULT_TOLERATIONS_ANNOTATION = 'scheduler.alpha.kubernetes.io/defaultTolerations';

export function linkAddresses(slot) {
  return { hostIp: `198.18.${slot}.1`, nodeIp: `198.18.${slot}.2`, prefix: 30, hostLink: `kmcpn${slot}`, nodeLink: 'kmcp-uplink' };
}

function writeJson(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
  return file;
}

/**
 * A kubeconfig for processes inside the run's namespace: same admin token and CA as the harness,
 * but through the forwarder on the host end of the link; the API server's certificate names
 * kubernetes.default.svc (and 127.0.0.1, 10.0.0.1), hence tls-server-name.
 */
export function writeNodeKubeconfig(file, { hostIp, caFile, token }) {
  return writeJson(file, {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: `https://${hostIp}:${APISERVER_FORWARD_PORT}`, 'certificate-authority': caFile, 'tls-server-name': 'kubernetes.default.svc' } }],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name: 'admin', context: { cluster: 'local', user: 'admin' } }],
    'current-context': 'admin',
  });
}

/** A kubeconfig for processes in the machine's namespace (scheduler, controller-manager). */
export function writeHostKubeconfig(file, { server, caFile, token }) {
  return writeJson(file, {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name: 'admin', context: { cluster: 'local', user: 'admin' } }],
    'current-context': 'admin',
  });
}

export function writeContainerdConfig(dir, { pauseRef, cniConfDir, cniDataDir }) {
  fs.mkdirSync(dir, { recursive: true });
  const toml = `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${dir}/containerd.sock"

[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseRef}"
  # even root cannot lower oom_score_adj here: without this every runc create fails
  restrict_oom_score_adj = true
  disable_hugetlb_controller = true
  tolerate_missing_hugetlb_controller = true
  enable_selinux = false
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConfDir}"
`;
  fs.writeFileSync(path.join(dir, 'config.toml'), toml);
  writeJson(path.join(cniConfDir, '10-kmcp.conflist'), {
    cniVersion: '1.0.0',
    name: 'kmcp',
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR, gateway: POD_GATEWAY }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: cniDataDir },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  return { config: path.join(dir, 'config.toml'), socket: path.join(dir, 'containerd.sock') };
}

export function writeKubeletConfig(dir, { socket, nodeIp, cgroupRoot, podLogsDir }) {
  return writeJson(path.join(dir, 'config.json'), {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot,
    containerRuntimeEndpoint: `unix://${socket}`,
    // Anonymous + AlwaysAllow only on the run end of the link: reachable from the machine's
    // namespace (the API server needs it for logs/exec), from nowhere else.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    address: nodeIp,
    healthzBindAddress: '127.0.0.1',
    readOnlyPort: 0,
    failSwapOn: false,
    enforceNodeAllocatable: [],
    clusterDomain: 'cluster.local',
    clusterDNS: [DNS_IP],
    resolvConf: '',
    podLogsDir,
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    localStorageCapacityIsolation: false,
    makeIPTablesUtilChains: false,
    registerWithTaints: [NODE_TAINT],
    serializeImagePulls: false,
    nodeStatusUpdateFrequency: '5s',
    syncFrequency: '10s',
    fileCheckFrequency: '1h',
    shutdownGracePeriod: '0s',
  });
}

export function writeKubeProxyConfig(dir, { kubeconfig }) {
  return writeJson(path.join(dir, 'config.json'), {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clusterCIDR: POD_CIDR,
    hostnameOverride: NODE_NAME,
    bindAddress: '127.0.0.1',
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    clientConnection: { kubeconfig },
    iptables: { masqueradeAll: true, localhostNodePorts: false, syncPeriod: '10s', minSyncPeriod: '0s' },
    // 0 = leave the conntrack sysctls alone (nf_conntrack_max is machine-wide).
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  });
}

export function writeCorefile(dir, { kubeconfig }) {
  fs.mkdirSync(dir, { recursive: true });
  // No `forward`: the run's namespace has no way out, names outside cluster.local fail at once.
  const corefile = `.:53 {
    bind ${DNS_IP}
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig} admin
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
}
`;
  fs.writeFileSync(path.join(dir, 'Corefile'), corefile);
  return path.join(dir, 'Corefile');
}

/**
 * A self-signed serving certificate (its own CA) for the operator's webhook server, under the names
 * the CNPG manager reads from WEBHOOK_CERT_DIR: apiserver.crt and apiserver.key.
 */
export function writeWebhookCert(dir, dnsNames) {
  fs.mkdirSync(dir, { recursive: true });
  const crt = path.join(dir, 'apiserver.crt');
  const key = path.join(dir, 'apiserver.key');
  sh('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
    '-subj', `/CN=${dnsNames[0]}`, '-addext', `subjectAltName=${dnsNames.map((d) => `DNS:${d}`).join(',')}`,
    '-keyout', key, '-out', crt,
  ]);
  return { crt, key, caBundle: fs.readFileSync(crt).toString('base64') };
}
