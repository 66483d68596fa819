// What a real-node run puts into the API server (scripts/node/runtime.mjs): the watched namespaces
// (annotated so their pods tolerate the node's taint), the `local` StorageClass and its tiny
// provisioner (one hostPath PersistentVolume per claim, owned by uid 26 as CNPG runs PostgreSQL),
// and the CNPG operator's webhooks pointing at a selector-less Service whose endpoints name the
// operator's address on the run end of the link.
//
// Plain node:https with the harness CA and the admin token.

import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import YAML from 'yaml';
import { DEFAULT_TOLERATIONS_ANNOTATION, NODE_NAME, NODE_TAINT, WEBHOOK_PORT } from './runtime-config.mjs';
import { NodeRuntimeError, sleep } from './runtime-sys.mjs';

export const STORAGE_CLASS = 'local';
export const OPERATOR_NAMESPACE = 'cnpg-system';
export const WEBHOOK_SERVICE = 'cnpg-webhook-service';
const PROVISIONER = 'kmcp.io/local-hostpath';
const PV_UID = 26;

export class KubeApi {
  constructor({ server, caFile, token }) {
    const url = new URL(server);
    this.host = url.hostname;
    this.port = Number(url.port || 443);
    this.ca = fs.readFileSync(caFile);
    this.token = token;
  }

  request(method, apiPath, body, { contentType = 'application/json', timeoutMs = 30_000 } = {}) {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.host,
          port: this.port,
          method,
          path: apiPath,
          ca: this.ca,
          timeout: timeoutMs,
          headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json', ...(data ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(data) } : {}) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            let parsed = text;
            try {
              parsed = JSON.parse(text);
            } catch {}
            resolve({ status: res.statusCode, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath}: timed out`)));
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  async expect(method, apiPath, body, ok, options) {
    const res = await this.request(method, apiPath, body, options);
    if (!ok.includes(res.status)) throw new NodeRuntimeError(`${method} ${apiPath}: HTTP ${res.status} ${res.body?.message ?? JSON.stringify(res.body).slice(0, 300)}`);
    return res;
  }

  /** Server-side apply of one object (force: this run owns it). */
  apply(obj, fieldManager = 'kmcp-node') {
    const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [undefined, obj.apiVersion];
    const plural = PLURALS[obj.kind];
    if (!plural) throw new NodeRuntimeError(`kmcp-node cannot apply kind ${obj.kind}`);
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const ns = obj.metadata.namespace ? `/namespaces/${obj.metadata.namespace}` : '';
    return this.expect('PATCH', `${base}${ns}/${plural}/${obj.metadata.name}?fieldManager=${fieldManager}&force=true`, obj, [200, 201], { contentType: 'application/apply-patch+yaml' });
  }
}

const PLURALS = {
  Namespace: 'namespaces',
  Service: 'services',
  Endpoints: 'endpoints',
  EndpointSlice: 'endpointslices',
  StorageClass: 'storageclasses',
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
  ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
  PersistentVolume: 'persistentvolumes',
};

/** Namespaces whose pods may run on the node: created if missing, annotated with the toleration. */
export async function prepareNamespaces(api, names) {
  const tolerations = JSON.stringify([{ key: NODE_TAINT.key, operator: 'Exists', effect: NODE_TAINT.effect }]);
  for (const name of names) {
    await api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations: { [DEFAULT_TOLERATIONS_ANNOTATION]: tolerations } } });
  }
}

export async function kubernetesServiceIp(api) {
  const res = await api.expect('GET', '/api/v1/namespaces/default/services/kubernetes', undefined, [200]);
  return res.body.spec.clusterIP;
}

export async function waitNodeReady(api, { timeoutMs, check }) {
  const deadline = Date.now() + timeoutMs;
  let last = 'not registered';
  while (Date.now() < deadline) {
    check?.();
    const res = await api.request('GET', `/api/v1/nodes/${NODE_NAME}`);
    if (res.status === 200) {
      const ready = (res.body.status?.conditions ?? []).find((c) => c.type === 'Ready');
      const notReadyTaint = (res.body.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/not-ready');
      if (ready?.status === 'True' && !notReadyTaint) return res.body;
      last = ready ? `Ready=${ready.status} (${ready.message ?? ready.reason})${notReadyTaint ? ', not-ready taint still set' : ''}` : 'no Ready condition yet';
    }
    await sleep(500);
  }
  throw new NodeRuntimeError(`node ${NODE_NAME} not Ready within ${timeoutMs / 1000}s: ${last}`);
}

export async function installStorageClass(api) {
  await api.apply({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: STORAGE_CLASS, labels: { 'app.kubernetes.io/managed-by': 'kmcp-node' } },
    provisioner: PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  });
}

/**
 * Polls claims of the `local` class: creates a hostPath PV pre-bound to each pending one (a directory
 * under volumesDir, owned by uid 26) and deletes released PVs of this run with their directory.
 */
export function startProvisioner(api, { volumesDir, runId, say, intervalMs = 1000 }) {
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      try {
        await provisionOnce(api, { volumesDir, runId });
      } catch (e) {
        say(`provisioner: ${e.message}`);
      }
      await sleep(intervalMs);
    }
  };
  const done = loop();
  return {
    async stop() {
      stopped = true;
      await done;
    },
  };
}

async function provisionOnce(api, { volumesDir, runId }) {
  const claims = await api.expect('GET', '/api/v1/persistentvolumeclaims', undefined, [200]);
  const volumes = await api.expect('GET', '/api/v1/persistentvolumes?labelSelector=kmcp.io/node-run', undefined, [200]);
  const existing = new Set(volumes.body.items.map((v) => v.metadata.name));
  for (const pvc of claims.body.items) {
    if (pvc.spec.storageClassName !== STORAGE_CLASS || pvc.spec.volumeName || pvc.metadata.deletionTimestamp) continue;
    const name = `pvc-${pvc.metadata.uid}`;
    if (existing.has(name)) continue;
    const dir = path.join(volumesDir, name);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chownSync(dir, PV_UID, PV_UID);
    await api.apply({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name, labels: { 'kmcp.io/node-run': runId }, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
      spec: {
        capacity: { storage: pvc.spec.resources?.requests?.storage ?? '1Gi' },
        accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: STORAGE_CLASS,
        volumeMode: pvc.spec.volumeMode ?? 'Filesystem',
        hostPath: { path: dir, type: 'Directory' },
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid },
      },
    });
  }
  for (const pv of volumes.body.items) {
    if (pv.metadata.labels['kmcp.io/node-run'] !== runId) continue;
    if (pv.status?.phase === 'Released' || pv.status?.phase === 'Failed') {
      await api.request('DELETE', `/api/v1/persistentvolumes/${pv.metadata.name}`);
      fs.rmSync(path.join(volumesDir, pv.metadata.name), { recursive: true, force: true });
    }
  }
}

/** The module's webhook configurations, renamed like CNPG's release manifests, with the CA filled in. */
export function webhookConfigurations(manifestsFile, caBundle) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(manifestsFile, 'utf8')).map((d) => d.toJS()).filter((o) => o && /WebhookConfiguration$/.test(o.kind));
  if (docs.length === 0) throw new NodeRuntimeError(`no webhook configurations in ${manifestsFile}`);
  return docs.map((o) => ({
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name: `cnpg-${o.metadata.name}`, labels: { 'app.kubernetes.io/managed-by': 'kmcp-node' } },
    webhooks: o.webhooks.map((w) => ({
      ...w,
      clientConfig: { ...w.clientConfig, caBundle, service: { ...w.clientConfig.service, name: WEBHOOK_SERVICE, namespace: OPERATOR_NAMESPACE, port: 443 } },
    })),
  }));
}

/** The selector-less Service + Endpoints + EndpointSlice naming the operator at nodeIp:WEBHOOK_PORT. */
export async function installWebhookService(api, nodeIp) {
  const port = { name: 'webhook-server', port: WEBHOOK_PORT, protocol: 'TCP' };
  await api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NAMESPACE } });
  await api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: WEBHOOK_SERVICE, namespace: OPERATOR_NAMESPACE },
    spec: { ports: [{ name: 'webhook-server', port: 443, targetPort: WEBHOOK_PORT, protocol: 'TCP' }] },
  });
  await api.apply({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: WEBHOOK_SERVICE, namespace: OPERATOR_NAMESPACE }, subsets: [{ addresses: [{ ip: nodeIp }], ports: [port] }] });
  await api.apply({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: WEBHOOK_SERVICE, namespace: OPERATOR_NAMESPACE, labels: { 'kubernetes.io/service-name': WEBHOOK_SERVICE, 'endpointslice.kubernetes.io/managed-by': 'kmcp-node' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [nodeIp], conditions: { ready: true } }],
    ports: [port],
  });
}

export async function installWebhooks(api, configurations) {
  for (const c of configurations) await api.apply(c);
}

export async function removeWebhooks(api, configurations) {
  for (const c of configurations) {
    const plural = PLURALS[c.kind];
    await api.request('DELETE', `/apis/admissionregistration.k8s.io/v1/${plural}/${c.metadata.name}`).catch(() => {});
  }
}
