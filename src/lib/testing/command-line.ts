import {existsSync} from 'node:fs'

/**
 * Splits a command line the way a POSIX shell would for simple cases: whitespace separates
 * words, single quotes keep everything literal, double quotes keep spaces, a backslash escapes
 * the next character. No variables, globs or pipes.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let index = 0; index < line.length; index++) {
    const char = line[index]
    if (quote === "'") {
      if (char === "'") quote = undefined
      else word += char
    } else if (char === '\\' && index + 1 < line.length && (quote !== '"' || /["\\$`]/.test(line[index + 1]))) {
      word += line[++index]
      inWord = true
    } else if (quote === '"') {
      if (char === '"') quote = undefined
      else word += char
    } else if (char === '"' || char === "'") {
      quote = char
      inWord = true
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += char
      inWord = true
    }
  }
  if (quote) throw new Error(`unbalanced ${quote} quote in ${JSON.stringify(line)}`)
  if (inWord) words.push(word)
  return words
}

/**
 * The argv that runs this same kmcp: the compiled executable itself, or Node with the script it
 * was started with (bin/dev.js from the sources, bin/run.js from the build).
 */
export function selfCommand(): {command: string; args: string[]} {
  const script = process.argv[1]
  // Inside a `bun build --compile` executable the script lives in Bun's virtual /$bunfs.
  if (!script || script.startsWith('/$bunfs') || script.startsWith('B:\\~BUN') || !existsSync(script)) return {command: process.execPath, args: []}
  return {command: process.execPath, args: [...process.execArgv, script]}
}
