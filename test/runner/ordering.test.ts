// The runner's scheduling rules, with in-process plugins and a session host that has no server
// behind it (the plugins here never use the MCP connection).
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {checkPluginNames, PluginGraphError, selectPlugins, topologicalOrder} from '../../src/lib/testing/order.ts'
import {fail, pass, skip, TOOL_NOT_OFFERED, type TestPlugin, type TestSession} from '../../src/lib/testing/plugin.ts'
import {runPlugins, type SessionHost} from '../../src/lib/testing/runner.ts'

/** A session host without a server: tools are a fixed list, the connection can be declared lost. */
function offlineHost(options: {tools?: string[]; lost?: () => string | undefined} = {}): SessionHost {
  return {
    transport: 'stdio',
    connectionProblem: () => options.lost?.(),
    offeredToolNames: async () => new Set(options.tools ?? []),
    forPlugin: (signal) => ({signal, shared: new Map(), transport: 'stdio'}) as unknown as TestSession,
  }
}

/** A plugin that records when it ran and returns the given outcome. */
function recorder(log: string[], name: string, extra: Partial<TestPlugin> = {}, outcome = pass('ok')): TestPlugin {
  return {
    name,
    group: 'g',
    description: name,
    needsConnection: false,
    ...extra,
    test: async () => {
      log.push(`start ${name}`)
      await new Promise((resolve) => setImmediate(resolve))
      log.push(`end ${name}`)
      return outcome
    },
  }
}

const run = (plugins: TestPlugin[], options: {concurrency?: number; timeoutMs?: number; host?: SessionHost; excluded?: Map<string, string>} = {}) =>
  runPlugins(plugins, options.host ?? offlineHost(), {concurrency: options.concurrency ?? 4, timeoutMs: options.timeoutMs ?? 10_000, excluded: options.excluded})

describe('ordering', () => {
  test('a diamond runs the top first, both sides, then the bottom', async () => {
    const log: string[] = []
    const plugins = [
      recorder(log, 'bottom', {dependsOn: ['left', 'right']}),
      recorder(log, 'left', {dependsOn: ['top']}),
      recorder(log, 'right', {dependsOn: ['top']}),
      recorder(log, 'top'),
    ]
    assert.deepEqual(topologicalOrder(plugins).map((plugin) => plugin.name), ['top', 'left', 'right', 'bottom'])
    const report = await run(plugins)
    assert.deepEqual(report.summary, {total: 4, passed: 4, failed: 0, skipped: 0})
    const at = (entry: string) => log.indexOf(entry)
    assert.ok(at('end top') < at('start left') && at('end top') < at('start right'))
    assert.ok(at('end left') < at('start bottom') && at('end right') < at('start bottom'))
    // Both sides of the diamond were running at the same time.
    assert.ok(at('start right') < at('end left') || at('start left') < at('end right'), log.join(', '))
  })

  test('the order is the same on every run (ties keep the declared order)', () => {
    const plugins = ['e', 'd', 'c', 'b', 'a'].map((name) => recorder([], name))
    for (let attempt = 0; attempt < 5; attempt++) assert.deepEqual(topologicalOrder(plugins).map((plugin) => plugin.name), ['e', 'd', 'c', 'b', 'a'])
  })

  test('a failing dependency skips its dependents, transitively, with the reason; soft ordering still runs', async () => {
    const log: string[] = []
    const report = await run([
      recorder(log, 'create', {}, fail('the API server said no')),
      recorder(log, 'verify', {dependsOn: ['create']}),
      recorder(log, 'deeper', {dependsOn: ['verify']}),
      recorder(log, 'cleanup', {runAfter: ['create', 'verify', 'deeper']}),
    ])
    const byName = new Map(report.results.map((result) => [result.name, result]))
    assert.equal(byName.get('create')!.status, 'failed')
    assert.equal(byName.get('verify')!.status, 'skipped')
    assert.equal(byName.get('verify')!.message, 'depends on "create", which failed: the API server said no')
    assert.equal(byName.get('deeper')!.status, 'skipped')
    assert.match(byName.get('deeper')!.message, /^depends on "verify", which was skipped: depends on "create"/)
    assert.equal(byName.get('cleanup')!.status, 'passed')
    assert.ok(!log.includes('start verify'))
    assert.deepEqual(report.summary, {total: 4, passed: 1, failed: 1, skipped: 2})
  })

  test('a plugin that skips itself makes its dependents skip too', async () => {
    const report = await run([recorder([], 'optional', {}, skip('not applicable here')), recorder([], 'after', {dependsOn: ['optional']})])
    assert.equal(report.results[1].message, 'depends on "optional", which was skipped: not applicable here')
  })

  test('a cycle is reported with its path', () => {
    const plugins = [recorder([], 'a', {dependsOn: ['c']}), recorder([], 'b', {dependsOn: ['a']}), recorder([], 'c', {runAfter: ['b']}), recorder([], 'free')]
    assert.throws(() => topologicalOrder(plugins), (error: Error) => {
      assert.ok(error instanceof PluginGraphError)
      assert.match(error.message, /^plugin dependency cycle: /)
      const path = error.message.replace(/^plugin dependency cycle: /, '').replace(/ \(check.*$/, '').split(' → ')
      assert.equal(path[0], path.at(-1))
      assert.deepEqual(new Set(path), new Set(['a', 'b', 'c']))
      return true
    })
    assert.throws(() => topologicalOrder([recorder([], 'self', {dependsOn: ['self']})]), /cycle: self → self/)
  })

  test('unknown and duplicate names are reported', () => {
    assert.throws(() => checkPluginNames([recorder([], 'a', {dependsOn: ['nope']})]), /plugin "a" dependsOn "nope", but no plugin has that name/)
    assert.throws(() => checkPluginNames([recorder([], 'a', {runAfter: ['gone']})]), /plugin "a" runAfter "gone"/)
    assert.throws(() => checkPluginNames([recorder([], 'a'), recorder([], 'a')]), /two plugins are named "a"/)
  })
})

describe('selection', () => {
  const catalog = [
    recorder([], 'connect', {group: 'session'}),
    recorder([], 'create', {group: 'cnpg', dependsOn: ['connect']}),
    recorder([], 'verify', {group: 'cnpg', dependsOn: ['create']}),
    recorder([], 'scale', {group: 'cnpg', dependsOn: ['create']}),
    recorder([], 'cleanup', {group: 'cnpg', cleanup: true, runAfter: ['create']}),
    recorder([], 'ping', {group: 'protocol', dependsOn: ['connect']}),
  ]
  const names = (selection: Parameters<typeof selectPlugins>[1]) => selectPlugins(catalog, selection).plugins.map((plugin) => plugin.name)

  test('--suite picks groups and pulls in what they depend on', () => {
    assert.deepEqual(names({suites: ['protocol']}), ['connect', 'ping'])
    assert.deepEqual(names({suites: ['cnpg']}), ['connect', 'create', 'verify', 'scale', 'cleanup'])
  })

  test('--only adds hard dependencies and the group\'s cleanup', () => {
    assert.deepEqual(names({only: ['verify']}), ['connect', 'create', 'verify', 'cleanup'])
    assert.deepEqual(names({only: ['ping']}), ['connect', 'ping'])
  })

  test('a cleanup plugin runs after every other selected plugin of its group', () => {
    const cleanup = selectPlugins(catalog, {suites: ['cnpg', 'protocol']}).plugins.find((plugin) => plugin.name === 'cleanup')!
    assert.deepEqual(cleanup.runAfter, ['create', 'verify', 'scale'])
    assert.deepEqual(topologicalOrder(selectPlugins(catalog, {suites: ['cnpg']}).plugins).at(-1)?.name, 'cleanup')
  })

  test('--only together with --suite adds the plugins to the suites', () => {
    assert.deepEqual(names({suites: ['protocol'], only: ['verify']}), ['connect', 'create', 'verify', 'cleanup', 'ping'])
  })

  test('--skip removes a plugin and gives its dependents the reason', async () => {
    const selected = selectPlugins(catalog, {suites: ['cnpg'], skip: ['create']})
    assert.deepEqual(selected.plugins.map((plugin) => plugin.name), ['connect', 'verify', 'scale', 'cleanup'])
    const report = await run(selected.plugins, {excluded: selected.excluded})
    const verify = report.results.find((result) => result.name === 'verify')!
    assert.equal(verify.status, 'skipped')
    assert.equal(verify.message, 'depends on "create", which was excluded with --skip')
  })

  test('unknown suite and plugin names are refused', () => {
    assert.throws(() => names({suites: ['nope']}), /no suite named "nope"; suites: cnpg, protocol, session/)
    assert.throws(() => names({only: ['nope']}), /no plugin named "nope"/)
    assert.throws(() => names({skip: ['nope']}), /no plugin named "nope"/)
  })
})

describe('execution', () => {
  test('the concurrency limit is respected', async () => {
    for (const limit of [1, 2, 3]) {
      let running = 0
      let highest = 0
      const gate: Array<() => void> = []
      const plugins: TestPlugin[] = Array.from({length: 8}, (_, index) => ({
        name: `p${index}`,
        group: 'g',
        description: '',
        needsConnection: false,
        test: async () => {
          running++
          highest = Math.max(highest, running)
          // Hold each plugin until the next turn of the event loop so that others could start.
          await new Promise<void>((resolve) => {
            gate.push(resolve)
            setImmediate(() => gate.shift()?.())
          })
          running--
          return pass('ok')
        },
      }))
      const report = await run(plugins, {concurrency: limit})
      assert.equal(report.summary.passed, 8)
      assert.equal(highest, limit, `limit ${limit}`)
    }
  })

  test('a hanging plugin fails with the timeout, its signal is aborted, and the run goes on', async () => {
    let abortedWith: unknown
    const report = await run(
      [
        {
          name: 'hangs',
          group: 'g',
          description: '',
          needsConnection: false,
          test: (session) =>
            new Promise(() => {
              session.signal.addEventListener('abort', () => {
                abortedWith = session.signal.reason
              })
            }),
        },
        recorder([], 'next', {runAfter: ['hangs']}),
      ],
      {timeoutMs: 150},
    )
    assert.equal(report.results[0].status, 'failed')
    assert.equal(report.results[0].message, 'timed out after 0.15 s (raise the limit with --timeout)')
    assert.match(String((abortedWith as Error)?.message), /timed out/)
    assert.equal(report.results[1].status, 'passed')
  })

  test('a throwing plugin fails with the error and its stack', async () => {
    const report = await run([
      {
        name: 'throws',
        group: 'g',
        description: '',
        needsConnection: false,
        test: async () => {
          throw new TypeError('cannot read properties of undefined')
        },
      },
    ])
    assert.equal(report.results[0].status, 'failed')
    assert.equal(report.results[0].message, 'threw TypeError: cannot read properties of undefined')
    assert.match(report.results[0].error ?? '', /at .*ordering\.test\.ts/)
  })

  test('plugins for tools the server does not offer are skipped with that reason', async () => {
    const log: string[] = []
    const report = await run([recorder(log, 'offered', {tool: 'list_things', needsConnection: true}), recorder(log, 'missing', {tool: 'make_thing', needsConnection: true})], {
      host: offlineHost({tools: ['list_things']}),
    })
    assert.deepEqual(
      report.results.map((result) => [result.name, result.status, result.message]),
      [
        ['offered', 'passed', 'ok'],
        ['missing', 'skipped', TOOL_NOT_OFFERED],
      ],
    )
    assert.ok(!log.includes('start missing'))
  })

  test('after the connection is lost, a failure says so and later plugins are skipped', async () => {
    let lost: string | undefined
    const report = await run(
      [
        {
          name: 'kills',
          group: 'g',
          description: '',
          test: async () => {
            lost = 'the server process ended'
            return fail('MCP error -32000: Connection closed')
          },
        },
        recorder([], 'later', {needsConnection: true, runAfter: ['kills']}),
        recorder([], 'offline', {runAfter: ['kills']}),
      ],
      {concurrency: 1, host: offlineHost({lost: () => lost})},
    )
    assert.equal(report.results[0].status, 'failed')
    assert.match(report.results[0].error ?? '', /The MCP connection was lost: the server process ended/)
    assert.deepEqual([report.results[1].status, report.results[1].message], ['skipped', 'no MCP connection: the server process ended'])
    assert.equal(report.results[2].status, 'passed', 'plugins that do not need the connection still run')
  })

  test('a connection lost between plugins fails the next plugin that needs it (so the run fails) and skips the rest', async () => {
    let lost: string | undefined
    const report = await run(
      [
        {name: 'kills', group: 'g', description: '', test: async () => ((lost = 'the server process ended'), pass('done'))},
        recorder([], 'next', {needsConnection: true, runAfter: ['kills']}),
        recorder([], 'later', {needsConnection: true, runAfter: ['next']}),
      ],
      {concurrency: 1, host: offlineHost({lost: () => lost})},
    )
    assert.deepEqual(
      report.results.map((result) => [result.name, result.status, result.message]),
      [
        ['kills', 'passed', 'done'],
        ['next', 'failed', 'no MCP connection: the server process ended'],
        ['later', 'skipped', 'no MCP connection: the server process ended'],
      ],
    )
  })

  test('transport-specific plugins are skipped on other transports', async () => {
    const report = await run([recorder([], 'http-only', {transports: ['http']})])
    assert.deepEqual([report.results[0].status, report.results[0].message], ['skipped', 'only applies to the http transport'])
  })
})
