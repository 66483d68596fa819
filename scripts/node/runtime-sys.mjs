// Low-level pieces of the real node (scripts/node/runtime.mjs): running commands, the machine-wide
// registry of runs, and the clean-up of a run, which is the same whether the run stopped normally or
// its supervisor was killed with SIGKILL.
//
// A run owns, and the clean-up removes, exactly:
//   - its processes: everything in the run's network namespace or private mount namespace, and every
//     task in its cgroup sub-tree (containers), found by namespace inode / cgroup membership, killed
//     by PID;
//   - the network namespace kmcp-<id> (iptables rules, bridge, pod veths and the run's end of the host
//     link go with it) and the host end of the link kmcpn<slot>;
//   - the two bind mounts that keep its mount namespace alive (<run>/ns and <run>/ns/mnt): every
//     other mount (container root filesystems, volumes, pod network namespaces) lives only inside that
//     private mount namespace and disappears with its last process;
//   - the cgroup directories /sys/fs/cgroup/<hierarchy>/kmcp-<id>;
//   - /etc/netns/kmcp-<id> (resolv.conf for `ip netns exec`), its run directory, its registry entry.
//
// Plain Node ESM, no dependencies.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const REGISTRY_DIR = process.env.KMCP_NODE_REGISTRY_DIR || '/run/kmcp-node';
export const CGROUP_ROOT = '/sys/fs/cgroup';
export const MAX_SLOTS = 250;

export class NodeRuntimeError extends Error {}

export const say = (msg) => process.stderr.write(`kmcp-node: ${msg}\n`);

/** Runs a command synchronously; throws a NodeRuntimeError with its stderr unless allowFail. */
export function sh(cmd, args, { allowFail = false, input, env } = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', input, env: env ?? process.env });
  if (!allowFail && (res.error || res.status !== 0)) {
    const why = res.error ? res.error.message : (res.stderr || res.stdout).trim().split('\n').slice(-3).join(' | ');
    throw new NodeRuntimeError(`${cmd} ${args.join(' ')} failed: ${why}`);
  }
  return { code: res.status ?? 1, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

/** Runs a command asynchronously (for the slow ones: image imports). */
export function shAsync(cmd, args, { env, logFile } = {}) {
  return new Promise((resolve, reject) => {
    const out = logFile ? fs.openSync(logFile, 'a') : 'ignore';
    const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', out, out] });
    child.on('error', (e) => reject(new NodeRuntimeError(`cannot run ${cmd}: ${e.message}`)));
    child.on('exit', (code, signal) => {
      if (typeof out === 'number') fs.closeSync(out);
      if (code === 0) resolve();
      else reject(new NodeRuntimeError(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})${logFile ? `; see ${logFile}` : ''}`));
    });
  });
}

export function commandExists(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() !== '';
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The start time of a process (field 22 of /proc/<pid>/stat), or undefined when it does not exist. */
export function processStartTime(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True when pid is alive and is still the process that started at startTime (no PID reuse). */
export function sameProcessAlive(pid, startTime) {
  const now = processStartTime(pid);
  return now !== undefined && (startTime === undefined || now === startTime);
}

// ---------------------------------------------------------------------------------------------
// Registry of runs: <REGISTRY_DIR>/runs/<id>.json, written before anything is created.

function runsDir() {
  return path.join(REGISTRY_DIR, 'runs');
}

export function listRuns() {
  let files = [];
  try {
    files = fs.readdirSync(runsDir()).filter((f) => f.endsWith('.json'));
  } catch {}
  const runs = [];
  for (const f of files) {
    try {
      runs.push(JSON.parse(fs.readFileSync(path.join(runsDir(), f), 'utf8')));
    } catch {
      runs.push({ id: f.slice(0, -5), corrupt: true });
    }
  }
  return runs;
}

export function writeRun(record) {
  fs.mkdirSync(runsDir(), { recursive: true });
  const file = path.join(runsDir(), `${record.id}.json`);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2) + '\n');
  fs.renameSync(`${file}.tmp`, file);
}

export function removeRun(id) {
  fs.rmSync(path.join(runsDir(), `${id}.json`), { force: true });
}

export function runIsLive(record) {
  return !record.corrupt && record.pid && sameProcessAlive(record.pid, record.startTime);
}

/** Serialises start-ups (clean-up of leftovers + slot choice) across processes. Stale locks are taken over. */
export async function withRegistryLock(fn) {
  fs.mkdirSync(REGISTRY_DIR, { recursive: true });
  const lock = path.join(REGISTRY_DIR, '.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      fs.writeFileSync(lock, `${process.pid} ${processStartTime(process.pid)}`, { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let [pid, start] = ['0', undefined];
      try {
        [pid, start] = fs.readFileSync(lock, 'utf8').trim().split(' ');
      } catch {}
      if (!Number(pid) || !sameProcessAlive(Number(pid), start)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new NodeRuntimeError(`timed out waiting for ${lock} (held by pid ${pid})`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** The lowest slot (1..MAX_SLOTS) no live run uses and no host interface kmcpn<slot> occupies. */
export function freeSlot(runs) {
  const used = new Set(runs.filter(runIsLive).map((r) => r.slot));
  const links = sh('ip', ['-o', 'link', 'show'], { allowFail: true }).stdout;
  for (let slot = 1; slot <= MAX_SLOTS; slot++) {
    if (!used.has(slot) && !new RegExp(`\\bkmcpn${slot}[@:]`).test(links)) return slot;
  }
  throw new NodeRuntimeError(`all ${MAX_SLOTS} node slots are in use (see ${runsDir()})`);
}

// ---------------------------------------------------------------------------------------------
// Clean-up

function nsInode(file) {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

function nsInodeOf(pid, kind) {
  try {
    const m = /\[(\d+)\]/.exec(fs.readlinkSync(`/proc/${pid}/ns/${kind}`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function cgroupDirs(id) {
  let hierarchies = [];
  try {
    hierarchies = fs.readdirSync(CGROUP_ROOT);
  } catch {}
  return hierarchies.map((h) => path.join(CGROUP_ROOT, h, `kmcp-${id}`)).filter((d) => fs.existsSync(d));
}

/** Every directory below (and including) dir, deepest first. */
function treeDeepestFirst(dir) {
  const out = [];
  const walk = (d) => {
    let entries = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {}
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
    out.push(d);
  };
  walk(dir);
  return out;
}

/** PIDs of a run: in its net or mount namespace, or in its cgroups. Never our own. */
export function runPids(record) {
  const netIno = nsInode(`/run/netns/${record.netns}`);
  const mntIno = record.runDir ? nsInode(path.join(record.runDir, 'ns', 'mnt')) : undefined;
  const pids = new Set();
  if (netIno || mntIno) {
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      if ((netIno && nsInodeOf(pid, 'net') === netIno) || (mntIno && nsInodeOf(pid, 'mnt') === mntIno)) pids.add(pid);
    }
  }
  for (const dir of cgroupDirs(record.id)) {
    for (const d of treeDeepestFirst(dir)) {
      try {
        for (const p of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
      } catch {}
    }
  }
  pids.delete(process.pid);
  return [...pids];
}

function mountsUnder(dir) {
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && (m === dir || m.startsWith(prefix)))
    .map((m) => m.replace(/\\040/g, ' '));
}

/**
 * Removes everything a run created (see the header). Safe to call for a live run only from its own
 * supervisor, after its components were stopped. Returns a list of what it had to do.
 */
export async function cleanupRun(record, { log = () => {} } = {}) {
  const done = [];
  const t0 = Date.now();
  const mark = (what) => process.env.KMCP_NODE_DEBUG && done.push(`${what} at ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  // 1. Processes, by PID, until none is left (containers may still be exiting or forking).
  for (let round = 0; round < 20; round++) {
    const pids = runPids(record);
    if (pids.length === 0) break;
    if (round === 0) done.push(`killed ${pids.length} process(es)`);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await sleep(round < 5 ? 100 : 500);
  }
  mark('processes');
  // 2. Mounts in the machine's mount namespace under the run directory (normally only the two that
  //    hold the private mount namespace), deepest first.
  if (record.runDir) {
    for (const m of mountsUnder(record.runDir).sort((a, b) => b.length - a.length)) {
      if (sh('umount', [m], { allowFail: true }).code !== 0) sh('umount', ['-l', m], { allowFail: true });
      done.push(`unmounted ${m}`);
    }
  }
  mark('mounts');
  // 3. Network namespace (and with it every interface and iptables rule inside) and the host link.
  if (record.netns && fs.existsSync(`/run/netns/${record.netns}`)) {
    sh('ip', ['netns', 'delete', record.netns], { allowFail: true });
    done.push(`deleted netns ${record.netns}`);
  }
  if (record.slot && sh('ip', ['link', 'show', `kmcpn${record.slot}`], { allowFail: true }).code === 0) {
    sh('ip', ['link', 'delete', `kmcpn${record.slot}`], { allowFail: true });
    done.push(`deleted link kmcpn${record.slot}`);
  }
  if (record.netns) fs.rmSync(`/etc/netns/${record.netns}`, { recursive: true, force: true });
  mark('network');
  // 4. cgroups, deepest first (a directory goes once its tasks are gone).
  for (const dir of cgroupDirs(record.id)) {
    for (const d of treeDeepestFirst(dir)) {
      for (let i = 0; i < 10; i++) {
        try {
          fs.rmdirSync(d);
          break;
        } catch (e) {
          if (e.code === 'ENOENT') break;
          await sleep(100);
        }
      }
    }
    done.push(`removed cgroup ${dir}`);
  }
  mark('cgroups');
  // 5. Files: only when nothing is mounted below any more.
  //    The run directory holds the unpacked images (hundreds of MB, seconds to delete): it is renamed
  //    and deleted by a detached `rm`; a trash folder an interrupted `rm` left is removed next time.
  if (record.runDir && fs.existsSync(record.runDir) && !record.keepRunDir) {
    if (mountsUnder(record.runDir).length === 0) {
      const trash = `${record.runDir}.trash`;
      try {
        fs.renameSync(record.runDir, trash);
        spawn('rm', ['-rf', trash], { detached: true, stdio: 'ignore' }).unref();
      } catch {
        fs.rmSync(record.runDir, { recursive: true, force: true });
      }
    } else done.push(`kept ${record.runDir}: still mounted below`);
  }
  mark('files');
  removeRun(record.id);
  if (done.length) log(`cleaned run ${record.id}: ${done.join(', ')}`);
  return done;
}

/**
 * Cleans every run whose supervisor is gone, plus network namespaces, host links and cgroups named
 * like a run that has no registry entry at all (e.g. the registry itself was removed).
 */
export async function cleanupLeftovers({ log = say } = {}) {
  const runs = listRuns();
  const cleaned = [];
  for (const record of runs) {
    if (runIsLive(record)) continue;
    await cleanupRun(record, { log });
    cleaned.push(record.id);
  }
  const live = runs.filter(runIsLive);
  const liveIds = new Set(live.map((r) => r.id));
  const liveSlots = new Set(live.map((r) => r.slot));
  let netnsNames = [];
  try {
    netnsNames = fs.readdirSync('/run/netns');
  } catch {}
  const orphanIds = new Set();
  for (const n of netnsNames) {
    const m = /^kmcp-([0-9a-f]{8})$/.exec(n);
    if (m && !liveIds.has(m[1])) orphanIds.add(m[1]);
  }
  let hierarchies = [];
  try {
    hierarchies = fs.readdirSync(CGROUP_ROOT);
  } catch {}
  for (const h of hierarchies) {
    let entries = [];
    try {
      entries = fs.readdirSync(path.join(CGROUP_ROOT, h));
    } catch {}
    for (const e of entries) {
      const m = /^kmcp-([0-9a-f]{8})$/.exec(e);
      if (m && !liveIds.has(m[1])) orphanIds.add(m[1]);
    }
  }
  for (const id of orphanIds) {
    await cleanupRun({ id, netns: `kmcp-${id}` }, { log });
    cleaned.push(id);
  }
  for (const trash of fs.readdirSync('/tmp').filter((n) => /^kmcp-node-[0-9a-f]{8}\.trash$/.test(n))) {
    if (mountsUnder(path.join('/tmp', trash)).length === 0) fs.rmSync(path.join('/tmp', trash), { recursive: true, force: true });
  }
  for (const line of sh('ip', ['-o', 'link', 'show'], { allowFail: true }).stdout.split('\n')) {
    const m = /^\d+: (kmcpn(\d+))[@:]/.exec(line);
    if (m && !liveSlots.has(Number(m[2]))) {
      sh('ip', ['link', 'delete', m[1]], { allowFail: true });
      log(`deleted leftover link ${m[1]}`);
    }
  }
  return cleaned;
}
