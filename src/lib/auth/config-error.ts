/** A setting of kmcp's OAuth configuration (oidc.yaml or the environment) that cannot be used, and why. */
export class AuthConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AuthConfigError'
  }
}
