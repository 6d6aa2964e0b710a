// ESLint: typescript-eslint's type-checked rules plus the size limits the project keeps
// (files under 400 lines, functions under 60, blank lines and comments not counted).
// Formatting is Prettier's (.prettierrc.json), so eslint-config-prettier turns off the
// rules that would fight it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'bench/peers/node_modules/',
      'bench/peers/out/',
      'runs/',
      '.cache/',
      'src/runtime/kernels.generated.ts',
      'web/dist/',
      'test/fixtures/package/',
      '.venv-torch/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Files outside every tsconfig (the plain-JS scripts, the CLI shim, the config files)
        // are type-checked in the project service's default project.
        projectService: { allowDefaultProject: ['*.js', '*.mjs', '*.config.ts', 'scripts/*.mjs', 'bin/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 60, IIFEs: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Plain-JS scripts, the CLI shim and the config files run in Node: js.configs.recommended's
    // no-undef needs Node's globals (process, console, URL) declared for them.
    files: ['scripts/**/*.mjs', 'bin/*.js', '*.config.*'],
    languageOptions: { globals: globals.node },
  },
  {
    // Tests: a describe() or it() body is a list of cases, not a function to keep short.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'max-lines-per-function': 'off' },
  },
  prettier,
);
