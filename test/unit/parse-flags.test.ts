// The single executable starts `kmcp serve` without oclif when its command line is plain
// (src/lib/cli/parse-flags.ts). Every command line that small parser accepts must give exactly
// the flags oclif's own parser gives for the same declarations and environment; everything else it
// must leave to oclif. Checked here against oclif's real parser.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {Parser} from '@oclif/core'
import type {FlagSpec} from '../../src/lib/cli/flag-spec.ts'
import {oclifFlags} from '../../src/lib/cli/oclif-flags.ts'
import {parseFlagsPlainly} from '../../src/lib/cli/parse-flags.ts'
import {SERVE_FLAGS} from '../../src/lib/server/serve-command.ts'

type Env = Record<string, string>

/** oclif's result for argv with exactly `env` among the serve flags' variables, or the error it throws. */
async function oclifParse(argv: string[], env: Env): Promise<Record<string, unknown> | Error> {
  const names = Object.values(SERVE_FLAGS).flatMap((spec) => ('env' in spec && spec.env ? [spec.env] : []))
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]))
  for (const name of names) delete process.env[name]
  Object.assign(process.env, env)
  try {
    const {flags} = await Parser.parse(argv, {flags: oclifFlags(SERVE_FLAGS), strict: true})
    return withoutUndefined(flags)
  } catch (error) {
    return error as Error
  } finally {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name]
      else process.env[name] = saved[name]
    }
  }
}

const withoutUndefined = (values: object) => Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined))

const accepted: Array<[string[], Env?]> = [
  [[]],
  [['--transport', 'stdio']],
  [['--transport', 'http', '--host', '127.0.0.1', '--port', '0']],
  [['-t', 'http', '--port=65535', '--path=/x/']],
  [['--kubeconfig', '/tmp/kc', '--context', 'staging', '--log-level', 'debug']],
  [['--read-only', '--disable-destructive', '--toolsets', 'cnpg,postgres', '--namespaces', 'a, b']],
  [['--enable-tools', 'list_*,get_*', '--disable-tools', 'delete_*', '--allowed-images', 'registry.example/pg/']],
  [['--transport', 'http', '--stateless', '--max-connections', '5', '--session-idle-timeout', '60', '--max-sessions', '3', '--max-sessions-per-user', '1']],
  [['--transport', 'http', '--insecure-no-auth', '--impersonate', '--admin-users', 'oidc:a', '--admin-groups', 'oidc:g', '--oidc-config', '/etc/x.yaml']],
  [['--allowed-hosts', 'kmcp.ns.svc', '--allowed-origins', 'https://app.example.com', '--prompts', '/p.yaml']],
  [[], {KMCP_LOG_LEVEL: 'warn', KMCP_KUBECONFIG: '/env/kc', KMCP_MAX_SESSIONS: '7', KMCP_NAMESPACES: 'x'}],
  [['--kubeconfig', '/flag/kc'], {KMCP_KUBECONFIG: '/env/kc'}],
  [[], {KMCP_READ_ONLY: 'true', KMCP_STATELESS: '1', KMCP_DISABLE_DESTRUCTIVE: 'YES'}],
  [[], {KMCP_READ_ONLY: 'false', KMCP_STATELESS: 'no', KMCP_DISABLE_DESTRUCTIVE: 'maybe'}],
  [['--read-only'], {KMCP_READ_ONLY: 'false'}],
  [[], {KMCP_LOG_LEVEL: '', KMCP_KUBECONFIG: ''}],
]

test('every plain serve command line gives exactly what oclif parses', async () => {
  for (const [argv, env = {}] of accepted) {
    const ours = parseFlagsPlainly(argv, SERVE_FLAGS, env)
    assert.ok(ours, `declined ${JSON.stringify(argv)} ${JSON.stringify(env)}`)
    assert.deepEqual(withoutUndefined(ours), await oclifParse(argv, env), `${JSON.stringify(argv)} ${JSON.stringify(env)}`)
  }
})

test('every declared flag, given once on its own, parses as oclif parses it', async () => {
  for (const [name, spec] of Object.entries(SERVE_FLAGS) as Array<[string, FlagSpec]>) {
    const value = spec.type === 'boolean' ? undefined : spec.type === 'integer' ? String(spec.max ?? (spec.min ?? 0) + 1) : spec.options ? spec.options.at(-1)! : 'some-value'
    const argv = value === undefined ? [`--${name}`] : [`--${name}`, value]
    const ours = parseFlagsPlainly(argv, SERVE_FLAGS, {})
    assert.ok(ours, `declined ${argv.join(' ')}`)
    assert.deepEqual(withoutUndefined(ours), await oclifParse(argv, {}), argv.join(' '))
  }
})

test('a command line oclif refuses is left to oclif, so its message and exit code are the ones shown', async () => {
  const refused: Array<[string[], Env?]> = [
    [['--nope']],
    [['extra-argument']],
    [['--port', 'abc']],
    [['--port', '70000']],
    [['--session-idle-timeout', '0']],
    [['--transport', 'ftp']],
    [['--transport']],
    [['--log-level', 'verbose']],
    [[], {KMCP_LOG_LEVEL: 'verbose'}],
    [[], {KMCP_MAX_SESSIONS: 'many'}],
  ]
  for (const [argv, env = {}] of refused) {
    assert.equal(parseFlagsPlainly(argv, SERVE_FLAGS, env), undefined, `accepted ${JSON.stringify(argv)} ${JSON.stringify(env)}`)
    assert.ok((await oclifParse(argv, env)) instanceof Error, `oclif accepts ${JSON.stringify(argv)} ${JSON.stringify(env)}: the case proves nothing`)
  }
})

test('help requests and unusual spellings are left to oclif too', () => {
  for (const argv of [['--help'], ['-h'], ['--transport', 'http', '--transport', 'stdio'], ['--read-only=true'], ['--context', '-x'], ['-t=http'], ['--'], ['--kubeconfig=']]) {
    assert.equal(parseFlagsPlainly(argv, SERVE_FLAGS, {}), undefined, JSON.stringify(argv))
  }
})
