/**
 * The tools/list answers computed at build time, as JSON text by set of tool names (see
 * tool-list.ts). In the sources this is `undefined`: scripts/build-binary.ts substitutes the answers
 * it computes from these same sources when it bundles the single executable, so the binary never
 * converts schemas at start-up and a dev run (sources, tsc output) always computes them live and
 * cannot serve a stale list. test/foundation/tool-list-snapshot.test.ts compares the binary's
 * answers with the live computation.
 */
export const toolListSnapshot: Readonly<Record<string, string>> | undefined = undefined
