// Runs the set-up commands as real processes: plainly (stdin not a terminal), or inside a
// pseudo-terminal made by util-linux `script`, so that @inquirer/prompts really prompts and the
// test answers like a person at the keyboard.
import {spawn} from 'node:child_process'
import {kmcpCommand, REPO_ROOT} from '../support/mcp.ts'

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...extra}
}

/** `kmcp <args>` with stdin from `input` (or closed), in `cwd`. */
export function run(args: string[], options: {env?: Record<string, string>; cwd?: string; input?: string; timeoutMs?: number} = {}): Promise<RunResult> {
  const cmd = kmcpCommand(...args)
  const child = spawn(cmd.command, cmd.args, {cwd: options.cwd ?? REPO_ROOT, env: baseEnv(options.env), stdio: ['pipe', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  child.stdin.end(options.input ?? '')
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

export interface TerminalSession {
  /** Waits until the screen output (all of it so far) matches, then returns it. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** Types text (use "\r" for Enter, "\x1b[B" for arrow down, "\x03" for Ctrl-C). */
  type(text: string): void
  output(): string
  exited: Promise<number | null>
}

/** `kmcp <args>` attached to a pseudo-terminal (util-linux `script`). */
export function runInTerminal(args: string[], options: {env?: Record<string, string>; cwd?: string} = {}): TerminalSession {
  const cmd = kmcpCommand(...args)
  const line = [cmd.command, ...cmd.args].map(shellQuote).join(' ')
  const child = spawn('script', ['-qfec', line, '/dev/null'], {cwd: options.cwd ?? REPO_ROOT, env: baseEnv({TERM: 'xterm', COLUMNS: '200', ...options.env}), stdio: ['pipe', 'pipe', 'pipe']})
  let screen = ''
  const listeners = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    screen += chunk.toString('utf8')
    for (const listener of listeners) listener()
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  const plain = () => screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
  return {
    output: plain,
    type: (text) => child.stdin.write(text),
    exited,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(plain())) {
            listeners.delete(check)
            clearTimeout(timer)
            resolve(plain())
          }
        }
        const timer = setTimeout(() => {
          listeners.delete(check)
          child.kill('SIGKILL')
          reject(new Error(`terminal never showed ${pattern}; screen so far:\n${plain()}`))
        }, timeoutMs)
        listeners.add(check)
        check()
      }),
  }
}
