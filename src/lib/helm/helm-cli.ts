/**
 * Running the `helm` program: finding it, checking it is Helm 3 or newer, and capturing what it
 * says. kmcp drives the real helm rather than re-implementing releases, so `helm list`,
 * `helm history` and `helm rollback` keep working on what `kmcp helm install` made.
 */
import {spawn} from 'node:child_process'
import {accessSync, constants, statSync} from 'node:fs'
import {delimiter, join} from 'node:path'
import {SetupFailure} from '../setup/command-support.ts'

export interface HelmResult {
  code: number
  stdout: string
  stderr: string
}

export interface Helm {
  path: string
  version: string
  run(args: string[]): Promise<HelmResult>
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** The helm binary: --helm if given, else the first `helm` on PATH. */
export function locateHelm(explicit: string | undefined, pathVariable = process.env.PATH ?? ''): string {
  if (explicit) {
    if (!isExecutable(explicit)) throw new SetupFailure(`--helm ${explicit} is not an executable file. Point it at the helm binary, or leave it out to use the helm on PATH.`)
    return explicit
  }
  for (const dir of pathVariable.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'helm')
    if (isExecutable(candidate)) return candidate
  }
  throw new SetupFailure(
    'helm is not installed (no "helm" on PATH). kmcp helm install drives Helm 3: install it (https://helm.sh/docs/intro/install/) and run the command again, or pass --helm /path/to/helm.',
  )
}

export function runProgram(path: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<HelmResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, {stdio: ['ignore', 'pipe', 'pipe'], env})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    child.once('error', (error) => reject(new SetupFailure(`could not run ${path}: ${error.message}`)))
    child.once('close', (code) => resolve({code: code ?? 1, stdout, stderr}))
  })
}

/** Finds helm and checks its major version (kmcp needs Helm 3 or newer). */
export async function openHelm(explicit: string | undefined): Promise<Helm> {
  const path = locateHelm(explicit)
  const result = await runProgram(path, ['version', '--short'])
  const version = /v(\d+)\.\d+/.exec(result.stdout)
  if (result.code !== 0 || !version) {
    throw new SetupFailure(`${path} does not look like a working helm ("helm version" said: ${(result.stderr || result.stdout).trim() || `exit ${result.code}`}). Install Helm 3 or pass --helm PATH.`)
  }
  if (Number(version[1]) < 3) throw new SetupFailure(`${path} is Helm ${version[0]}; kmcp needs Helm 3 or newer.`)
  return {path, version: version[0], run: (args) => runProgram(path, args)}
}

/** helm's own error text without its "Error: " prefix, for one-line messages. */
export function helmError(result: HelmResult): string {
  return (result.stderr || result.stdout).trim().replace(/^Error: /gm, '')
}
