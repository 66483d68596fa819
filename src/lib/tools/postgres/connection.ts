/**
 * How clients reach a CNPG cluster: the operator's default Services `<cluster>-rw` (primary),
 * `-ro` (replicas) and `-r` (any instance), all on PostgreSQL's port 5432.
 */
export const POSTGRES_PORT = 5432

export type ServiceKind = 'rw' | 'ro' | 'r'

export const SERVICE_PURPOSE: Record<ServiceKind, string> = {
  rw: 'read-write: the primary',
  ro: 'read-only: hot standby replicas only',
  r: 'read: any instance, primary or replica',
}

export function serviceHost(cluster: string, namespace: string, kind: ServiceKind): string {
  return `${cluster}-${kind}.${namespace}.svc`
}

/** A libpq URI without a password: the password comes from the Secret (or PGPASSWORD). */
export function connectionUri(host: string, user: string, database: string): string {
  return `postgresql://${encodeURIComponent(user)}@${host}:${POSTGRES_PORT}/${encodeURIComponent(database)}`
}
