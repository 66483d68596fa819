import {Command, Flags} from '@oclif/core'
import {probe} from '../lib/container/probe.ts'

export default class Probe extends Command {
  static override summary = 'Check that a kmcp server answers its health endpoint (exit 0 when it does).'
  static override description = 'For container health checks where there is no curl or shell: GETs the URL and exits 0 on a 2xx answer, 1 otherwise, with one line on stderr saying why.'
  static override examples = ['<%= config.bin %> probe', '<%= config.bin %> probe --url http://127.0.0.1:4205/readyz']

  static override flags = {
    url: Flags.string({default: 'http://127.0.0.1:4204/healthz', summary: 'URL to check.'}),
    timeout: Flags.integer({default: 3000, min: 1, summary: 'Milliseconds to wait for the answer.'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Probe)
    const result = await probe(flags.url, flags.timeout)
    if (!result.ok) this.error(`unhealthy: ${result.detail}`, {exit: 1})
    this.log(`healthy: ${result.detail}`)
  }
}
