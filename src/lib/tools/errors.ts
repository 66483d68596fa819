import {describeKubeError} from '../k8s/errors.ts'

/** A failure the tool has already phrased for the model; returned as an `isError` result as-is. */
export class ToolError extends Error {
  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'ToolError'
  }
}

/** Runs one Kubernetes call and turns any failure into a ToolError that says what was being done. */
export async function kubeStep<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof ToolError) throw error
    // The cause keeps the API error for callers that react to it (a 409 conflict is retried).
    throw new ToolError(describeKubeError(error, action), {cause: error})
  }
}
