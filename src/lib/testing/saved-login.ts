import {chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import type {OAuthClientInformationMixed, OAuthTokens} from '@modelcontextprotocol/sdk/shared/auth.js'

/**
 * What `--login` keeps between runs for one MCP endpoint: the registered client, the tokens
 * (above all the refresh token) and the redirect port the client was registered with. One 0600
 * file per endpoint under the user's configuration directory, so the next run refreshes instead
 * of opening a browser.
 */
export interface SavedLogin {
  url: string
  redirectPort?: number
  client?: OAuthClientInformationMixed
  tokens?: OAuthTokens
  /** Epoch milliseconds when the access token expires, when the server said. */
  expiresAt?: number
}

/** $KMCP_CONFIG_DIR, else $XDG_CONFIG_HOME/kmcp, else ~/.config/kmcp. */
export function configDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KMCP_CONFIG_DIR) return env.KMCP_CONFIG_DIR
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'kmcp')
}

export function savedLoginFile(mcpUrl: URL, env: NodeJS.ProcessEnv = process.env): string {
  // node:crypto is loaded here, not for every command's start (`kmcp --help` included).
  const {createHash} = process.getBuiltinModule('node:crypto')
  const id = createHash('sha256').update(mcpUrl.href).digest('hex').slice(0, 16)
  return join(configDirectory(env), 'logins', `${mcpUrl.hostname.replace(/[^A-Za-z0-9.-]/g, '_')}-${id}.json`)
}

export function readSavedLogin(file: string, mcpUrl: URL): SavedLogin {
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedLogin
    if (saved.url === mcpUrl.href) return saved
  } catch {
    // Missing or unreadable: start a new login.
  }
  return {url: mcpUrl.href}
}

/** Written to a temporary file first and renamed, owner-only: it holds a refresh token. */
export function writeSavedLogin(file: string, saved: SavedLogin): void {
  const dir = join(file, '..')
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(saved, null, 2)}\n`, {mode: 0o600})
  chmodSync(temporary, 0o600)
  renameSync(temporary, file)
}

/** The saved access token while it has more than a minute left. */
export function stillValidAccessToken(saved: SavedLogin): string | undefined {
  if (!saved.tokens?.access_token || saved.expiresAt === undefined) return undefined
  return saved.expiresAt - 60_000 > Date.now() ? saved.tokens.access_token : undefined
}
