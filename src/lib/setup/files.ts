/**
 * Files the set-up commands write (oidc.yaml, Helm values, secret files, kubeconfigs): written
 * only when the content changes, so a second run reports "unchanged"; secrets with mode 0600.
 */
import {chmod, mkdir, readFile, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'
import type {ChangeLog} from './ui.ts'

export async function writeManagedFile(path: string, content: string, options: {mode?: number; dryRun?: boolean; changes: ChangeLog; detail?: string}): Promise<void> {
  const current = await readFile(path, 'utf8').catch(() => undefined)
  const same = current === content
  if (options.dryRun) {
    options.changes.add({kind: 'File', name: path, outcome: same ? 'unchanged' : current === undefined ? 'would create' : 'would update', detail: options.detail})
    return
  }
  if (!same) {
    await mkdir(dirname(path), {recursive: true, mode: 0o700})
    await writeFile(path, content, {mode: options.mode ?? 0o644})
  }
  // writeFile's mode applies only to a new file; an existing one may have been wider.
  if (options.mode !== undefined) await chmod(path, options.mode)
  options.changes.add({kind: 'File', name: path, outcome: same ? 'unchanged' : 'written', detail: options.detail})
}
