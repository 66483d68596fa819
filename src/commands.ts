import Serve from './commands/serve.ts'
import SecretsCreate from './commands/secrets/create.ts'

/**
 * Every kmcp command, by oclif id (topics separated by ":", typed with spaces). oclif's explicit
 * command discovery reads this map, which is what lets the single executable hold every command.
 */
export const COMMANDS = {
  serve: Serve,
  'secrets:create': SecretsCreate,
}
