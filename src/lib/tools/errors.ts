import {describeKubeError} from '../k8s/errors.ts'

/** A failure the tool has already phrased for the model; returned as an `isError` result as-is. */
export class ToolError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ToolError'
  }
}

/** Runs one Kubernetes call and turns any failure into a ToolError that says what was being done. */
export async function kubeStep<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof ToolError) throw error
    throw new ToolError(describeKubeError(error, action))
  }
}
