// Network of a real-node run (scripts/node/runtime.mjs): one network namespace kmcp-<id> holding
// everything (bridge, pods' veths, kube-proxy's and CNI's iptables rules, CoreDNS), linked to the
// machine's namespace by one veth pair with a /30 from 198.18.0.0/15. Nothing else is added to the
// machine: no route, no iptables rule, no sysctl. The machine keeps ip_forward as it is: the run's
// namespace has no default route, so pods reach only the run's own addresses and the API server.
//
// The API server listens on the machine's 127.0.0.1 only, which other namespaces cannot reach: a
// small TCP forwarder in the supervisor listens on the host end of the link and connects to it.
// Pods use the `kubernetes` Service address: a DNAT inside the run's namespace sends it to the
// forwarder (CNI's ipMasq rewrites the pods' source to the run end of the link on the way).
//
// Plain Node ESM, no dependencies.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { APISERVER_FORWARD_PORT, BRIDGE, DNS_IP, POD_CIDR, POD_GATEWAY, linkAddresses } from './runtime-config.mjs';
import { sh } from './runtime-sys.mjs';

const SERVICE_CIDR = '10.0.0.0/24';

function inNetns(netns, cmd, args, opts) {
  return sh('ip', ['netns', 'exec', netns, cmd, ...args], opts);
}

/** Creates the namespace, the link, the bridge and the DNAT for the `kubernetes` Service. */
export function createNetwork({ netns, slot, kubernetesServiceIp }) {
  const { hostIp, nodeIp, prefix, hostLink, nodeLink } = linkAddresses(slot);
  sh('ip', ['netns', 'add', netns]);
  sh('ip', ['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', nodeLink, 'netns', netns]);
  sh('ip', ['addr', 'add', `${hostIp}/${prefix}`, 'dev', hostLink]);
  sh('ip', ['link', 'set', hostLink, 'up']);
  inNetns(netns, 'ip', ['link', 'set', 'lo', 'up']);
  inNetns(netns, 'ip', ['addr', 'add', `${nodeIp}/${prefix}`, 'dev', nodeLink]);
  inNetns(netns, 'ip', ['link', 'set', nodeLink, 'up']);
  // The bridge exists before the first pod so that CoreDNS can bind the gateway address at once.
  inNetns(netns, 'ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  inNetns(netns, 'ip', ['addr', 'add', `${POD_GATEWAY}/${POD_CIDR.split('/')[1]}`, 'dev', BRIDGE]);
  inNetns(netns, 'ip', ['link', 'set', BRIDGE, 'up']);
  // Locally started clients (psql in tests) need a route to ClusterIPs before kube-proxy's OUTPUT DNAT.
  inNetns(netns, 'ip', ['route', 'add', SERVICE_CIDR, 'dev', BRIDGE]);
  for (const s of ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0']) inNetns(netns, 'sysctl', ['-q', '-w', s]);
  // Pods -> https://<kubernetes Service>:443 -> the forwarder on the host end of the link.
  inNetns(netns, 'iptables', ['-w', '-t', 'nat', '-N', 'KMCP-APISERVER']);
  inNetns(netns, 'iptables', ['-w', '-t', 'nat', '-A', 'KMCP-APISERVER', '-d', `${kubernetesServiceIp}/32`, '-p', 'tcp', '--dport', '443', '-j', 'DNAT', '--to-destination', `${hostIp}:${APISERVER_FORWARD_PORT}`]);
  inNetns(netns, 'iptables', ['-w', '-t', 'nat', '-I', 'PREROUTING', '1', '-j', 'KMCP-APISERVER']);
  inNetns(netns, 'iptables', ['-w', '-t', 'nat', '-I', 'OUTPUT', '1', '-j', 'KMCP-APISERVER']);
  // `ip netns exec` bind-mounts /etc/netns/<name>/* over /etc: psql and friends resolve through CoreDNS.
  fs.mkdirSync(`/etc/netns/${netns}`, { recursive: true });
  fs.writeFileSync(`/etc/netns/${netns}/resolv.conf`, `nameserver ${DNS_IP}\nsearch svc.cluster.local cluster.local\noptions ndots:5 timeout:2 attempts:2\n`);
  return { hostIp, nodeIp, hostLink, nodeLink };
}

/** Forwards TCP connections from listen {host, port} to target {host, port}. Returns {close()}. */
export function startForwarder({ listenHost, listenPort, targetHost, targetPort }) {
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, listenHost, () => {
      server.off('error', reject);
      server.unref();
      resolve({
        close() {
          for (const s of sockets) s.destroy();
          server.close();
        },
      });
    });
  });
}

/** True when host:port accepts a TCP connection. */
export function canConnect(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

/** The persistent private mount namespace of a run: <runDir>/ns/mnt. */
export function createMountNamespace(runDir) {
  const nsDir = path.join(runDir, 'ns');
  fs.mkdirSync(nsDir, { recursive: true });
  // The file that keeps the namespace must sit on a mount that is not shared.
  sh('mount', ['--bind', nsDir, nsDir]);
  sh('mount', ['--make-private', nsDir]);
  const file = path.join(nsDir, 'mnt');
  fs.writeFileSync(file, '');
  // Inside: mounts stay inside (slave), and the paths where containerd and the kubelet write outside
  // their configured directories get a private tmpfs: pod network namespaces and container log links.
  const setup = ['mount -t tmpfs -o mode=755 kmcp-netns /run/netns', 'mount -t tmpfs -o mode=755 kmcp-logs /var/log/containers'].join(' && ');
  fs.mkdirSync('/run/netns', { recursive: true });
  fs.mkdirSync('/var/log/containers', { recursive: true });
  sh('unshare', [`--mount=${file}`, '--propagation', 'slave', 'sh', '-c', setup]);
  return file;
}
