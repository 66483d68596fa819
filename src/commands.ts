import Serve from './commands/serve.ts'

/**
 * Every kmcp command, by oclif id (topics separated by ":", typed with spaces). oclif's explicit
 * command discovery reads this map, which is what lets the single executable hold every command.
 */
export const COMMANDS = {
  serve: Serve,
}
