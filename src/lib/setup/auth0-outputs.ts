/**
 * What `kmcp setup auth0` leaves behind for the next steps: the oidc.yaml kmcp serve reads
 * (for a local run, pointing at secret files) and a Helm values file for the chart (which mounts
 * the Secrets of secret-names.ts and renders its own oidc.yaml in the cluster).
 */
import {resolve} from 'node:path'
import {stringify} from 'yaml'
import type {Auth0SetupResult} from './auth0.ts'
import {KEYS_SECRET_KEYS, OIDC_CLIENT_SECRET_KEYS, keysSecretName, oidcClientSecretName} from './secret-names.ts'

/** oidc.yaml keys as kmcp serve reads them (reference §5.2 names). */
export function oidcConfigYaml(result: Auth0SetupResult, secretsDir: string): string {
  const dir = resolve(secretsDir)
  const config = {
    auth_type: 'auth0',
    issuer: result.issuer,
    audience: result.audience,
    client_id: result.serverClient.clientId ?? '<created on the real run>',
    public_url: result.publicUrl,
    client_secret_file: `${dir}/${OIDC_CLIENT_SECRET_KEYS.clientSecret}`,
    jwt_signing_key_file: `${dir}/${KEYS_SECRET_KEYS.jwtSigningKey}`,
    storage_encryption_key_file: `${dir}/${KEYS_SECRET_KEYS.storageEncryptionKey}`,
  }
  return `# Written by kmcp setup auth0 for ${result.domain}. Secret files: kmcp secrets create --out-dir ${secretsDir}\n${stringify(config)}`
}

/** Values for the kmcp chart (chart/values.yaml keys). */
export function helmValuesYaml(result: Auth0SetupResult, release: string): string {
  const url = new URL(result.publicUrl)
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
  const values: Record<string, unknown> = {
    oidc: {
      enabled: true,
      authType: 'auth0',
      issuer: result.issuer,
      audience: result.audience,
      clientId: result.serverClient.clientId ?? '<created on the real run>',
      publicUrl: result.publicUrl,
      credentialsSecretName: oidcClientSecretName(release),
    },
    jwt: {secretName: keysSecretName(release)},
    ...(loopback ? {} : {ingress: {enabled: true, host: url.host}}),
  }
  return `# Helm values written by kmcp setup auth0 for release "${release}": helm upgrade --install ${release} chart/ -f <this file>\n${stringify(values)}`
}
