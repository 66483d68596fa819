// The processes of a real-node run, each started by the supervisor and stopped by PID.
//
// Every component runs as
//   nsenter --mount=<run>/ns/mnt [--net=/run/netns/<netns>] [--wd=DIR] -- setpriv --pdeathsig KILL -- CMD ARGS
// nsenter enters the run's namespaces and execs setpriv, which asks the kernel to SIGKILL the
// component when the supervisor dies (even by SIGKILL) and execs the component: the supervisor stays
// its parent and knows its PID. What survives a crash (containerd shims, containers) is found by
// namespace and cgroup at the next start (runtime-sys.mjs).
//
// Plain Node ESM, no dependencies.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from './runtime-sys.mjs';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class Supervisor {
  constructor({ logDir, mountNs, netns, say }) {
    this.logDir = logDir;
    this.mountNs = mountNs;
    this.netns = netns;
    this.say = say;
    this.procs = new Map();
    this.stopping = false;
  }

  /** Starts a component; its stdout and stderr go to <logDir>/<name>.log. */
  start(name, cmd, args, { net = true, cwd, env = {} } = {}) {
    fs.mkdirSync(this.logDir, { recursive: true });
    const logFile = path.join(this.logDir, `${name}.log`);
    const out = fs.openSync(logFile, 'a');
    const wrapper = [`--mount=${this.mountNs}`, ...(net ? [`--net=/run/netns/${this.netns}`] : []), ...(cwd ? [`--wd=${cwd}`] : []), '--', 'setpriv', '--pdeathsig', 'KILL', '--', cmd, ...args];
    const child = spawn('nsenter', wrapper, { stdio: ['ignore', out, out], env: { PATH, HOME: '/root', ...env } });
    fs.closeSync(out);
    const proc = { name, child, pid: child.pid, logFile, exit: undefined };
    proc.exited = new Promise((resolve) => {
      child.once('error', (e) => {
        proc.exit = { code: null, signal: null, error: e.message };
        resolve(proc.exit);
      });
      child.once('exit', (code, signal) => {
        proc.exit = { code, signal };
        if (!this.stopping) this.say(`${name} (pid ${child.pid}) exited unexpectedly (${signal ?? `exit ${code}`}); log: ${logFile}`);
        resolve(proc.exit);
      });
    });
    this.procs.set(name, proc);
    return proc;
  }

  get(name) {
    return this.procs.get(name);
  }

  /** Fails with the component's last log lines when it has exited. */
  assertRunning(name) {
    const proc = this.procs.get(name);
    if (proc && proc.exit) throw new Error(`${name} exited (${proc.exit.signal ?? `exit ${proc.exit.code}`}): ${lastLines(proc.logFile)}`);
  }

  /** SIGTERM, then SIGKILL after timeoutMs. */
  async stop(name, timeoutMs = 10_000) {
    const proc = this.procs.get(name);
    if (!proc || proc.exit) return;
    try {
      process.kill(proc.pid, 'SIGTERM');
    } catch {}
    const timer = sleep(timeoutMs).then(() => 'timeout');
    if ((await Promise.race([proc.exited, timer])) === 'timeout') {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {}
      await proc.exited;
    }
  }

  /** Stops the named components in order, then any other still running. */
  async stopAll(order, timeoutMs) {
    this.stopping = true;
    for (const name of order) {
      const t0 = Date.now();
      await this.stop(name, timeoutMs);
      const took = Date.now() - t0;
      if (took >= timeoutMs) this.say(`${name} did not stop within ${timeoutMs / 1000}s of SIGTERM: killed`);
      else if (took > 1000) this.say(`${name} took ${(took / 1000).toFixed(1)}s to stop`);
    }
    await Promise.all([...this.procs.keys()].map((n) => this.stop(n, timeoutMs)));
  }
}

export function lastLines(file, n = 3) {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-n).join(' | ').slice(0, 600);
  } catch {
    return '(no log)';
  }
}
