import {Command, Flags} from '@oclif/core'
import {SUITES_BY_DEFAULT} from '../lib/testing/defaults.ts'
import {selfCommand, splitCommandLine} from '../lib/testing/command-line.ts'
import type {ServerTarget} from '../lib/testing/session.ts'
import {tokenFlags, tokenSourceFrom} from '../lib/testing/token-flags.ts'

const list = (values: string[] | undefined) => values?.flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean)

export default class Test extends Command {
  static override summary = 'Test an MCP server end to end: protocol conformance, the CNPG tools, and HTTP authorization.'
  static override description = [
    'Runs test plugins against a kmcp server (or any MCP server, for the protocol suite) and reports each plugin as passed, failed or skipped. Exit code 0 only when nothing failed.',
    `Suites: protocol (any MCP server), cnpg (a full cluster lifecycle in --namespace, cleaned up afterwards), auth (HTTP authorization). Default: ${SUITES_BY_DEFAULT.join(', ')}, plus auth when a token is given.`,
    'stdio starts the server itself (default: this kmcp\'s "serve --transport stdio"); http connects to --url.',
    'Tokens are never printed. See docs/kmcp-test.md.',
  ].join('\n')

  static override examples = [
    '<%= config.bin %> test --kubeconfig ~/.kube/config --namespace kmcp-test',
    '<%= config.bin %> test --transport http --url https://kmcp.example.com/mcp --token-file token.txt --junit report.xml',
    '<%= config.bin %> test --transport http --url https://kmcp.example.com/mcp --client-id ci --client-secret "$KMCP_CLIENT_SECRET" --junit report.xml',
    '<%= config.bin %> test --url https://kmcp.example.com/mcp --id-token-env KMCP_ID_TOKEN --junit report.xml',
    '<%= config.bin %> test --service kmcp/kmcp --id-token-file /var/run/secrets/tokens/kmcp --junit report.xml',
    '<%= config.bin %> test --server-command "npx some-mcp-server" --suite protocol --json',
  ]

  static override flags = {
    transport: Flags.string({char: 't', options: ['stdio', 'http'], summary: 'MCP transport (default: http when --url is given, else stdio).'}),
    url: Flags.string({summary: 'HTTP: the MCP endpoint, e.g. http://127.0.0.1:4204/mcp.', exclusive: ['service']}),
    service: Flags.string({summary: 'HTTP: reach an in-cluster server through the Kubernetes API: port-forward to a ready pod of this Service (NAMESPACE/NAME[:PORT]), no ingress needed.'}),
    path: Flags.string({default: '/mcp', summary: 'With --service: the MCP endpoint\'s path on the server.'}),
    'server-command': Flags.string({summary: 'stdio: the command that starts the server (default: this kmcp\'s "serve --transport stdio").'}),
    kubeconfig: Flags.string({summary: 'kubeconfig the server uses (stdio with the default server command), or that reaches --service.'}),
    context: Flags.string({summary: 'kubeconfig context the server uses (stdio with the default server command), or that reaches --service.'}),
    namespace: Flags.string({char: 'n', summary: 'Namespace the cnpg suite creates its test cluster in (default: the server\'s default namespace).'}),
    suite: Flags.string({multiple: true, summary: 'Suites to run (repeat or comma-separate): protocol, cnpg, auth, or a --plugins group.'}),
    only: Flags.string({multiple: true, summary: 'Run only these plugins (plus what they depend on); with --suite, run them in addition.'}),
    skip: Flags.string({multiple: true, summary: 'Leave these plugins out; plugins depending on them are skipped.'}),
    plugins: Flags.string({multiple: true, summary: 'A directory of extra plugin modules (.js/.ts) to load.'}),
    list: Flags.boolean({default: false, summary: 'List the plugins and their ordering, then exit.'}),
    concurrency: Flags.integer({default: 4, min: 1, max: 64, summary: 'How many independent plugins run at the same time.'}),
    timeout: Flags.integer({default: 60, min: 1, summary: 'Time limit per plugin, in seconds.'}),
    ...tokenFlags,
    json: Flags.boolean({default: false, summary: 'Write the results as JSON to stdout (progress goes to stderr).'}),
    junit: Flags.string({summary: 'Write a JUnit XML report to this file.'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Test)
    const transport = (flags.transport ?? (flags.url || flags.service ? 'http' : 'stdio')) as 'stdio' | 'http'
    let target: ServerTarget
    let targetLabel: string
    let forward: {url: URL; label: string; close(): Promise<void>} | undefined
    if (flags.service) {
      if (transport !== 'http') this.error('--service is for --transport http', {exit: 2})
      if (flags['server-command']) this.error('--server-command is for --transport stdio', {exit: 2})
      if (flags.login) this.error('--login signs in through the server\'s public URL: use --url with it; with --service, use --client-id/--client-secret or --id-token-file', {exit: 2})
      const {openServiceForward} = await import('../lib/testing/service-forward-command.ts')
      forward = await openServiceForward({service: flags.service, path: flags.path, kubeconfig: flags.kubeconfig, context: flags.context}, (message) => this.error(message, {exit: 1}))
      target = {transport, url: forward.url}
      targetLabel = forward.label
    } else if (transport === 'http') {
      if (!flags.url) this.error('--transport http needs --url (or --service NAMESPACE/NAME), e.g. --url http://127.0.0.1:4204/mcp', {exit: 2})
      let url: URL
      try {
        url = new URL(flags.url)
      } catch {
        this.error(`--url ${flags.url} is not a URL`, {exit: 2})
      }
      if (flags['server-command']) this.error('--server-command is for --transport stdio', {exit: 2})
      target = {transport, url}
      targetLabel = url.href
    } else {
      if (flags.url) this.error('--url is for --transport http', {exit: 2})
      let argv: string[]
      if (flags['server-command']) {
        if (flags.kubeconfig || flags.context) this.error('--kubeconfig and --context apply to the default server command; put them into --server-command instead', {exit: 2})
        try {
          argv = splitCommandLine(flags['server-command'])
        } catch (error) {
          this.error(`--server-command: ${(error as Error).message}`, {exit: 2})
        }
        if (argv.length === 0) this.error('--server-command is empty', {exit: 2})
      } else {
        const self = selfCommand()
        argv = [self.command, ...self.args, 'serve', '--transport', 'stdio', ...(flags.kubeconfig ? ['--kubeconfig', flags.kubeconfig] : []), ...(flags.context ? ['--context', flags.context] : [])]
      }
      target = {transport, command: argv[0], args: argv.slice(1)}
      targetLabel = argv.join(' ')
    }

    const tokenSource = tokenSourceFrom(flags, transport === 'http' ? (forward?.url ?? new URL(flags.url!)) : undefined, (message) => this.error(message, {exit: 2}))

    // Loaded on use: every command class is loaded at start-up (oclif reads their flags), so the
    // runner and its suites stay out of `kmcp serve`'s start-up this way.
    const [{runTestCommand, TestUsageError}, {PluginGraphError}, {PluginLoadError}] = await Promise.all([
      import('../lib/testing/run.ts'),
      import('../lib/testing/order.ts'),
      import('../lib/testing/external.ts'),
    ])
    let code: number
    try {
      code = await runTestCommand({
        target,
        targetLabel,
        namespace: flags.namespace,
        suites: list(flags.suite),
        only: list(flags.only),
        skip: list(flags.skip),
        pluginDirectories: flags.plugins,
        concurrency: flags.concurrency,
        timeoutMs: flags.timeout * 1000,
        tokenSource,
        json: flags.json,
        junitFile: flags.junit,
        list: flags.list,
        stdout: process.stdout,
        stderr: process.stderr,
      })
    } catch (error) {
      if (error instanceof TestUsageError || error instanceof PluginGraphError || error instanceof PluginLoadError) this.error(error.message, {exit: 2})
      throw error
    } finally {
      await forward?.close()
    }
    if (code !== 0) this.exit(code)
  }
}
