import type {CallerIdentity} from './registry.ts'
import {ToolError} from './errors.ts'

/**
 * A shared server: HTTP without --impersonate, where kmcp acts with its own Kubernetes rights for
 * everyone. There, arguments that hand out database-wide power or run code of the caller's
 * choosing are for kmcp administrators only; with --impersonate the cluster's RBAC decides, and
 * in stdio the user acts with their own kubeconfig.
 */
export function isSharedServer(identity: CallerIdentity): boolean {
  return identity.transport === 'http' && identity.kubernetes === undefined
}

/** Refuses, naming the field and why, when a non-administrator on a shared server sets one of `fields`. */
export function requireAdminFor(identity: CallerIdentity, fields: Array<{name: string; given: boolean; why: string}>): void {
  if (!isSharedServer(identity) || identity.isAdmin) return
  const field = fields.find((f) => f.given)
  if (!field) return
  throw new ToolError(`\`${field.name}\` may only be set by a kmcp administrator on this server: ${field.why}. kmcp acts with its own Kubernetes rights for every user here, so this is not left to RBAC. Leave it out, or ask an administrator (admin_users / admin_groups).`)
}

/** The CloudNativePG project's own image registry: the default of allowed_images. */
export const DEFAULT_ALLOWED_IMAGES = ['ghcr.io/cloudnative-pg/']

/** KMCP_ALLOWED_IMAGES (set by --allowed-images): image reference prefixes container_image may use. */
export function allowedImagePrefixes(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = (env.KMCP_ALLOWED_IMAGES ?? '').split(',').map((p) => p.trim()).filter(Boolean)
  return list.length > 0 ? list : DEFAULT_ALLOWED_IMAGES
}

/** Refuses an image outside allowed_images: a PostgreSQL image runs code in the cluster. */
export function requireAllowedImage(image: string | undefined): void {
  if (image === undefined) return
  const prefixes = allowedImagePrefixes()
  if (prefixes.some((prefix) => image.startsWith(prefix))) return
  throw new ToolError(`container_image ${JSON.stringify(image)} is not from an allowed registry (${prefixes.join(', ')}): an image runs its own code in the cluster. Omit container_image to use the official image for postgres_version, or ask the operator to add the prefix to --allowed-images (KMCP_ALLOWED_IMAGES).`)
}
