import Serve from './commands/serve.ts'
import SecretsCreate from './commands/secrets/create.ts'
import RbacSetup from './commands/rbac/setup.ts'

/**
 * Every kmcp command, by oclif id (topics separated by ":", typed with spaces). oclif's explicit
 * command discovery reads this map, which is what lets the single executable hold every command.
 */
export const COMMANDS = {
  serve: Serve,
  'secrets:create': SecretsCreate,
  'rbac:setup': RbacSetup,
}
