import {createKubeClient} from '../k8s/client.ts'
import {KubeApiError, KubeConfigError, KubeConnectionError} from '../k8s/errors.ts'
import {forwardToService, type ServiceForward} from './port-forward.ts'
import {ServiceTargetError, parseServiceRef} from './service-target.ts'

/** `kmcp test --service`: the kubeconfig, the Service's pod, the forward; `fail` reports what went wrong (and does not return). */
export async function openServiceForward(options: {service: string; path: string; kubeconfig?: string; context?: string}, fail: (message: string) => never): Promise<ServiceForward> {
  try {
    // A malformed reference is reported before any kubeconfig is looked for.
    const ref = parseServiceRef(options.service)
    const kube = await createKubeClient({kubeconfig: options.kubeconfig, context: options.context})
    return await forwardToService(kube, ref, options.path)
  } catch (error) {
    if (error instanceof ServiceTargetError || error instanceof KubeConfigError) fail(`--service ${options.service}: ${error.message}`)
    if (error instanceof KubeConnectionError) fail(`--service ${options.service}: cannot reach the Kubernetes API server ${error.server}: ${error.message} (${error.hint})`)
    if (error instanceof KubeApiError) fail(`--service ${options.service}: the Kubernetes API server answered ${error.status} ${error.reason}: ${error.message}`)
    throw error
  }
}
