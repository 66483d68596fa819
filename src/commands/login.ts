import {Command, Flags} from '@oclif/core'
import {tokenFlags, tokenSourceFrom} from '../lib/testing/token-flags.ts'
import {printToken} from './token.ts'

export default class Login extends Command {
  static override summary = 'Log in to a kmcp server with a browser, keep the refresh token, and print an access token.'
  static override description = [
    'Authorization code + PKCE on a loopback redirect. The client registration and the refresh token are kept in a 0600 file under the config directory ($KMCP_CONFIG_DIR, else $XDG_CONFIG_HOME/kmcp or ~/.config/kmcp), so `kmcp token`, `kmcp test --login` and the next `kmcp login` refresh instead of opening the browser again.',
    'Only the token is printed, on stdout; the URL to open goes to stderr.',
  ].join('\n')

  static override examples = ['<%= config.bin %> login --url https://kmcp.example.com/mcp']

  static override flags = {
    url: Flags.string({required: true, summary: 'The MCP endpoint to log in to, e.g. https://kmcp.example.com/mcp.'}),
    'client-id': tokenFlags['client-id'],
    scope: tokenFlags.scope,
    'login-timeout': tokenFlags['login-timeout'],
    'redirect-port': tokenFlags['redirect-port'],
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Login)
    await printToken(this, flags.url, (url) => tokenSourceFrom({...flags, login: true, 'client-credentials': false}, url, (message) => this.error(message, {exit: 2})))
  }
}
