// The machine-wide build cache of the real-node artifacts (CNPG module, manager binary, images).
//
// kmcpCacheDir() = $KMCP_CACHE_DIR, else $XDG_CACHE_HOME/kmcp, else ~/.cache/kmcp. It lives outside
// the repository so that every clone and worktree on the machine reuses what was built once.
// Every artifact sits in a sub-folder keyed by its inputs, is built under a cross-process lock and
// appears atomically (built in a temporary sibling, then renamed into place).
//
// Plain Node ESM, no dependencies.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class NodeBuildError extends Error {}

export function kmcpCacheDir() {
  if (process.env.KMCP_CACHE_DIR) return path.resolve(process.env.KMCP_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME ? path.resolve(process.env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'kmcp');
}

/** Returns a progress printer writing `<prefix>: message` lines to stderr (stdout stays clean). */
export function reporter(prefix) {
  return (msg) => process.stderr.write(`${prefix}: ${msg}\n`);
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * Runs fn while holding `<dir>/.<name>.lock` (a file holding our pid). A lock whose holder died is
 * taken over, so a crashed build never blocks the next one.
 */
export async function withLock(dir, name, fn, { say = reporter('kmcp-cache'), timeoutMs = 60 * 60 * 1000 } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, `.${name}.lock`);
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let holder = 0;
      try {
        holder = Number(fs.readFileSync(lock, 'utf8').trim() || 0);
      } catch {}
      if (!holder || !pidAlive(holder)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new NodeBuildError(`timed out waiting for ${lock} (held by pid ${holder})`);
      if (!announced) say(`waiting for another build of ${name} (pid ${holder}) to finish`);
      announced = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo; octal escapes decoded). */
export function mountsUnder(dir) {
  let info = '';
  try {
    info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const root = path.resolve(dir);
  return info
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_m, o) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m && (m === root || m.startsWith(root + '/')))
    .sort((a, b) => b.length - a.length);
}

/**
 * Removes a build tree, first detaching anything still mounted inside it (a killed mmdebstrap can
 * leave /proc or /sys mounted in its chroot): rm -r must never descend into a live mount.
 */
export function removeTree(dir) {
  if (!fs.existsSync(dir)) return;
  for (const m of mountsUnder(dir)) spawnSync('umount', ['--lazy', m]);
  const left = mountsUnder(dir);
  if (left.length) throw new NodeBuildError(`cannot remove ${dir}: still mounted: ${left.join(', ')}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Atomically replaces `target` (file or directory) with `tmp`. */
export function publish(tmp, target) {
  const old = `${target}.old-${process.pid}`;
  if (fs.existsSync(target)) fs.renameSync(target, old);
  fs.renameSync(tmp, target);
  removeTree(old);
}

/**
 * Runs a command with its output appended to logFile. Resolves with the duration in seconds and the
 * captured stdout when `capture` is set; rejects with a NodeBuildError naming the log and its last line.
 */
export function run(cmd, args, { cwd, env, logFile, label = cmd, say, capture = false, heartbeatMs = 60_000 } = {}) {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'a');
  fs.writeSync(out, `$ (cd ${cwd ?? process.cwd()} && ${cmd} ${args.join(' ')})\n`);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', capture ? 'pipe' : out, out] });
    let stdout = '';
    if (capture) {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d) => {
        stdout += d;
      });
    }
    const beat =
      say &&
      setInterval(() => {
        say(`still ${label} (${Math.round((Date.now() - started) / 1000)}s)...`);
      }, heartbeatMs);
    beat?.unref();
    const finish = (err) => {
      if (beat) clearInterval(beat);
      fs.closeSync(out);
      if (err) reject(err);
      else resolve({ seconds: (Date.now() - started) / 1000, stdout });
    };
    child.on('error', (e) => finish(new NodeBuildError(`cannot run ${cmd}: ${e.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) return finish();
      let last = '';
      try {
        last = fs.readFileSync(logFile, 'utf8').trim().split('\n').pop() ?? '';
      } catch {}
      finish(new NodeBuildError(`${label} failed (${signal ?? `exit ${code}`}); see ${logFile}` + (last ? ` (last line: ${last.slice(0, 300)})` : '')));
    });
  });
}
