import Serve from './commands/serve.ts'
import SecretsCreate from './commands/secrets/create.ts'
import RbacSetup from './commands/rbac/setup.ts'
import SetupAuth0 from './commands/setup/auth0.ts'
import HelmInstall from './commands/helm/install.ts'
import Probe from './commands/probe.ts'
import Test from './commands/test.ts'
import Token from './commands/token.ts'
import Login from './commands/login.ts'

/**
 * Every kmcp command, by oclif id (topics separated by ":", typed with spaces). oclif's explicit
 * command discovery reads this map, which is what lets the single executable hold every command.
 */
export const COMMANDS = {
  serve: Serve,
  'secrets:create': SecretsCreate,
  'rbac:setup': RbacSetup,
  'setup:auth0': SetupAuth0,
  'helm:install': HelmInstall,
  probe: Probe,
  test: Test,
  token: Token,
  login: Login,
}
