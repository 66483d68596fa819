// ESLint flat config (npm run lint). ESLint + typescript-eslint rather than Biome because the
// type-aware rules catch the bugs this code base is prone to — an un-awaited promise in a request
// handler or a Kubernetes call (no-floating-promises), an async function handed to a callback
// that ignores its result (no-misused-promises) — and Biome has no type information. The existing
// eslint-disable comments name ESLint rules too. Formatting is not linted (no mass reformatting).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', '.cache/**', 'test-results/**', 'chart/**', 'src/lib/helm/chart-bundle.generated.ts']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      // tsconfig.dev.json covers src/, test/, scripts/ and bin/: the type-aware rules need it.
      parserOptions: {project: './tsconfig.dev.json', tsconfigRootDir: import.meta.dirname},
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', fetch: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly',
        AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', structuredClone: 'readonly',
      },
    },
    linterOptions: {reportUnusedDisableDirectives: 'error'},
    rules: {
      // node:test's test()/describe() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', {allowForKnownSafeCalls: [{from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite']}]}],
      // Passing an async function as an event listener or a void callback is deliberate here.
      '@typescript-eslint/no-misused-promises': ['error', {checksVoidReturn: false}],
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'}],
      // `catch {}` marks a best-effort step (reading an optional file, cleaning up).
      'no-empty': ['error', {allowEmptyCatch: true}],
      // `const host = this` feeds getters of a returned object literal; it is not confusion about `this`.
      '@typescript-eslint/no-this-alias': 'off',
      // Type-only imports are enforced by tsc (verbatimModuleSyntax); this rule only adds noise.
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-regex-spaces': 'off',
    },
  },
  {
    // The npm package's launcher is CommonJS for any Node.js (scripts/release/kmcp-launcher.cjs).
    files: ['**/*.cjs'],
    languageOptions: {sourceType: 'commonjs', globals: {require: 'readonly', module: 'writable', __dirname: 'readonly'}},
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
  {
    // Tests read untyped JSON straight from the Kubernetes API and OAuth servers, and match the
    // terminal escapes kmcp prints.
    files: ['test/**/*.ts'],
    rules: {'@typescript-eslint/no-explicit-any': 'off', 'no-control-regex': 'off'},
  },
)
