/**
 * Builds a value on its first use and returns that same value afterwards. The tools' zod schemas
 * are declared with it, so that loading the tool modules builds none of them: `kmcp serve` answers
 * initialize and tools/list without them, and a call builds only the schemas of its tool.
 */
export function once<T>(make: () => T): () => T {
  let made = false
  let value: T | undefined
  return () => {
    if (!made) {
      value = make()
      made = true
    }
    return value as T
  }
}
