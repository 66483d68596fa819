import type {PluginResult, TestPlugin} from './plugin.ts'
import {resultLine} from './report.ts'
import type {RunObserver} from './runner.ts'

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

/**
 * Progress on a terminal: each finished plugin gets its line, and a footer line (redrawn in
 * place) shows what is running and how far the run is.
 */
export function terminalProgress(stream: NodeJS.WriteStream): RunObserver & {stop(): void} {
  const running = new Set<string>()
  let total = 0
  let done = 0
  let frame = 0
  const footer = () => {
    const names = [...running].join(', ')
    const text = `${SPINNER[frame++ % SPINNER.length]} ${done}/${total} done${names ? `, running: ${names}` : ''}`
    const columns = stream.columns || 80
    stream.write(`\r\x1b[2K${text.length > columns - 1 ? `${text.slice(0, columns - 2)}…` : text}`)
  }
  const timer = setInterval(footer, 100)
  timer.unref()
  return {
    planned: (plugins: TestPlugin[]) => {
      total = plugins.length
      footer()
    },
    started: (plugin: TestPlugin) => {
      running.add(plugin.name)
      footer()
    },
    finished: (result: PluginResult) => {
      running.delete(result.name)
      done++
      stream.write(`\r\x1b[2K${colour(result)}\n`)
      footer()
    },
    stop: () => {
      clearInterval(timer)
      stream.write('\r\x1b[2K')
    },
  }
}

function colour(result: PluginResult): string {
  const code = result.status === 'passed' ? 32 : result.status === 'failed' ? 31 : 33
  return `\x1b[${code}m${resultLine(result)}\x1b[0m`
}

/** Progress for logs and pipes: one line per finished plugin. */
export function plainProgress(stream: NodeJS.WritableStream): RunObserver & {stop(): void} {
  return {
    finished: (result: PluginResult) => {
      stream.write(`${resultLine(result)}\n`)
    },
    stop: () => undefined,
  }
}
