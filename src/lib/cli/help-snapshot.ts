/**
 * oclif's help texts rendered at build time, by helpKey() of the argument list (see
 * help-requests.ts). In the sources this is `undefined`: scripts/build-binary.ts substitutes the
 * texts it renders from these same sources when it bundles the single executable, so `kmcp --help`
 * there does not load oclif, and a dev run (sources, tsc output) always renders live and cannot
 * show stale help. test/foundation/help-snapshot.test.ts compares the binary's answers with the
 * live rendering.
 */
export const helpSnapshot: Readonly<Record<string, string>> | undefined = undefined
