// ESLint for the SPA (`npm run lint`, run by `make test`): typescript-eslint's recommended rules,
// the Rules of Hooks, and the layers of src/ as import zones:
//
//   shared (src/lib, src/components, src/api)  →  features (src/features/*)  →  app (src/app)
//
// A layer imports only from the layers to its left: shared code never imports a feature or the
// app, a feature never imports the app nor another feature (what two features share moves down
// into src/lib or src/components), and no module takes part in an import cycle. The `@/` alias
// of tsconfig.json resolves through eslint-import-resolver-typescript.
// scripts/lint-zones.test.mjs proves the zones catch what they should.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import i18next from 'eslint-plugin-i18next';
import importX from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const here = import.meta.dirname;
const features = readdirSync(join(here, 'src/features'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

const SHARED = ['./src/lib', './src/components', './src/api'];

/** import-x/no-restricted-paths zones; paths are relative to this directory. */
export const zones = [
  {
    target: SHARED,
    from: ['./src/features', './src/app'],
    message: 'shared code (src/lib, src/components, src/api) must not import a feature or the app',
  },
  {
    target: './src/features',
    from: './src/app',
    message: 'a feature must not import the app (src/app)',
  },
  ...features.map((name) => ({
    target: `./src/features/${name}`,
    from: './src/features',
    except: [`./${name}`],
    message: `the ${name} feature must not import another feature: move what they share into src/lib or src/components`,
  })),
];

export default defineConfig([
  globalIgnores(['dist/', 'src/api/schema.ts', 'e2e/screenshots/', 'coverage/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['src/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
    extends: [reactHooks.configs.flat.recommended],
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      // `const { dropped: _, ...rest } = obj`: a leading underscore says "unused on purpose".
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: join(here, 'tsconfig.json') })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: here, zones }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // No words a user reads outside the message catalogs (src/locales): JSX text and the
    // attributes people read or hear (aria-label, title, placeholder, alt, label) must come from
    // `t()`. Names in code (ids, classes, values, function arguments) are not words; the brand and
    // the backup-code format are the same in every language.
    files: ['src/**/*.tsx'],
    ignores: ['src/**/*.test.tsx'],
    plugins: { i18next },
    rules: {
      'i18next/no-literal-string': [
        'error',
        {
          mode: 'jsx-only',
          'jsx-attributes': { include: ['aria-label', 'aria-description', 'title', 'placeholder', 'alt', 'label'] },
          callees: { exclude: ['.*'] },
          'object-properties': { exclude: ['.*'] },
          words: { exclude: ['^CloudCX$', '^x+-x+$', '^[\\s·—–:/|()…]+$'] },
        },
      ],
    },
  },
  {
    // Node: this file, vite.config.ts, the scripts and the browser journeys.
    files: ['*.{js,mjs,ts}', 'scripts/**/*.mjs', 'e2e/**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    // The journeys' page.evaluate callbacks run in the browser.
    files: ['e2e/**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
]);
