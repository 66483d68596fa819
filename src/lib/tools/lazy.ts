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

/** once() for each key: a tool's schemas are built on its first use, then shared by every session. */
export function oncePerKey<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>()
  return (key) => {
    if (!made.has(key)) made.set(key, make(key))
    return made.get(key) as V
  }
}
