import {kubeStep} from '../errors.ts'
import {ToolError} from '../errors.ts'
import type {ToolContext} from '../registry.ts'
import {type CnpgPlural, type ObjectList, cnpgPath} from './api.ts'

/**
 * One page of a CNPG list, in one namespace or "all namespaces". With --namespaces, "all namespaces"
 * means each allowed namespace in turn: kmcp never asks Kubernetes about the others.
 */
export async function listScoped<T>(context: ToolContext, plural: CnpgPlural, what: string, args: {namespace?: string; all_namespaces: boolean; limit?: number; continue?: string}): Promise<{list: ObjectList<T>; namespace?: string; scope: string}> {
  const kube = await context.kube()
  const allowed = context.allowedNamespaces
  if (!args.all_namespaces || (allowed && allowed.length === 1)) {
    const namespace = await context.namespace(args.all_namespaces && allowed ? allowed[0] : args.namespace)
    const list = await kubeStep(`listing ${what} in namespace ${namespace}`, () =>
      kube.request<ObjectList<T>>({method: 'GET', path: cnpgPath(plural, namespace), query: {limit: args.limit, continue: args.continue}, signal: context.signal}),
    )
    return {list, namespace, scope: `namespace ${namespace}`}
  }
  if (!allowed) {
    const list = await kubeStep(`listing ${what} in all namespaces`, () =>
      kube.request<ObjectList<T>>({method: 'GET', path: cnpgPath(plural), query: {limit: args.limit, continue: args.continue}, signal: context.signal}),
    )
    return {list, scope: 'all namespaces'}
  }
  if (args.continue) throw new ToolError(`"continue" cannot be used with all_namespaces on this server: it lists each allowed namespace (${allowed.join(', ')}) separately. Ask for one namespace at a time to page.`)
  const items: T[] = []
  for (const namespace of allowed) {
    const page = await kubeStep(`listing ${what} in namespace ${namespace}`, () =>
      kube.request<ObjectList<T>>({method: 'GET', path: cnpgPath(plural, namespace), query: {limit: args.limit}, signal: context.signal}),
    )
    items.push(...page.items)
  }
  return {list: {items: args.limit ? items.slice(0, args.limit) : items, metadata: {}}, scope: `the allowed namespaces (${allowed.join(', ')})`}
}
