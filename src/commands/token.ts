import {Command, Flags} from '@oclif/core'
import {tokenFlags, tokenSourceFrom} from '../lib/testing/token-flags.ts'

export default class Token extends Command {
  static override summary = 'Print a fresh access token for a kmcp server (for curl, MCP clients, other tools).'
  static override description = [
    'Gets the token from the source the flags name: --client-id/--client-secret (client credentials), --id-token-file/--id-token-env (token exchange of a CI or Kubernetes ID token), --token-file, or, by default, the login `kmcp login` saved for --url (refreshed when needed; never opens a browser).',
    'Only the token is printed, on stdout.',
  ].join('\n')

  static override examples = [
    '<%= config.bin %> token --url https://kmcp.example.com/mcp',
    '<%= config.bin %> token --url https://kmcp.example.com/mcp --id-token-env KMCP_ID_TOKEN',
    'curl -H "Authorization: Bearer $(<%= config.bin %> token --url https://kmcp.example.com/mcp)" ...',
  ]

  static override flags = {
    url: Flags.string({required: true, summary: 'The MCP endpoint the token is for, e.g. https://kmcp.example.com/mcp.'}),
    ...tokenFlags,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Token)
    await printToken(this, flags.url, (url) => {
      const source = tokenSourceFrom(flags, url, (message) => this.error(message, {exit: 2}))
      return source.kind === 'none' ? {...tokenSourceFrom({...flags, login: true}, url, (message) => this.error(message, {exit: 2})), interactive: false} : source
    })
  }
}

/** Obtains the token and prints it; a failure is one line on stderr and exit code 1. */
export async function printToken(command: Command, rawUrl: string, sourceFor: (url: URL) => import('../lib/testing/tokens.ts').TokenSource): Promise<void> {
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    command.error(`--url ${rawUrl} is not a URL`, {exit: 2})
  }
  const {obtainToken, TokenError} = await import('../lib/testing/tokens.ts')
  try {
    const token = await obtainToken(sourceFor(url), url, AbortSignal.timeout(15 * 60_000))
    process.stdout.write(`${token}\n`)
  } catch (error) {
    if (error instanceof TokenError) command.error(error.message, {exit: 1})
    throw error
  }
}
