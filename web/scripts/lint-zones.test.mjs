// The import zones of eslint.config.js catch what they should: ESLint's Node API lints small
// sources under made-up paths in src/ (their imports resolve to the real modules, `@/` alias and
// relative paths alike). Run: `node --test scripts/` in web/ (scripts/test.sh does).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { ESLint } from 'eslint';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..');
const eslint = new ESLint({ cwd: WEB });

/** The rule ids (and messages) ESLint reports for `code` as if it were the file at `path`. */
async function lint(path, code) {
  const [result] = await eslint.lintText(code, { filePath: join(WEB, path) });
  const fatal = result.messages.filter((m) => m.fatal);
  assert.deepEqual(fatal, [], `${path} did not parse`);
  return result.messages.map((m) => ({ rule: m.ruleId, message: m.message }));
}

const restricted = (messages) => messages.filter((m) => m.rule === 'import-x/no-restricted-paths');

/** A real module of a feature, to import from elsewhere. */
const AUTH_MODULE = '@/features/auth/site';
const APP_MODULE = '@/app/App';

describe('import zones: shared → features → app', () => {
  test('a feature importing another feature is reported, by alias and by relative path', async () => {
    const byAlias = await lint('src/features/sso/components/Zones.tsx', `import { SITE_KEY } from '${AUTH_MODULE}';\nexport const x = SITE_KEY;\n`);
    assert.equal(restricted(byAlias).length, 1, JSON.stringify(byAlias));
    assert.match(restricted(byAlias)[0].message, /sso feature must not import another feature/);

    const relativePath = await lint('src/features/sso/components/Zones.tsx', `import { SITE_KEY } from '../../auth/site';\nexport const x = SITE_KEY;\n`);
    assert.equal(restricted(relativePath).length, 1, JSON.stringify(relativePath));
  });

  test('a feature importing its own modules and shared code is fine', async () => {
    const messages = await lint(
      'src/features/auth/components/Zones.tsx',
      `import { SITE_KEY } from '${AUTH_MODULE}';\nimport { Button } from '@/components/Button';\nimport { toApiProblem } from '@/lib/problem';\nexport const x = [SITE_KEY, Button, toApiProblem];\n`,
    );
    assert.deepEqual(restricted(messages), []);
  });

  test('a feature importing the app is reported', async () => {
    const messages = await lint('src/features/admin/Zones.tsx', `import { App } from '${APP_MODULE}';\nexport const x = App;\n`);
    assert.equal(restricted(messages).length, 1, JSON.stringify(messages));
    assert.match(restricted(messages)[0].message, /must not import the app/);
  });

  test('shared code importing a feature or the app is reported', async () => {
    for (const path of ['src/lib/zones.ts', 'src/components/Zones.tsx', 'src/api/zones.ts']) {
      const messages = await lint(path, `import { SITE_KEY } from '${AUTH_MODULE}';\nimport { App } from '${APP_MODULE}';\nexport const x = [SITE_KEY, App];\n`);
      assert.equal(restricted(messages).length, 2, `${path}: ${JSON.stringify(messages)}`);
      for (const m of restricted(messages)) assert.match(m.message, /shared code .* must not import a feature or the app/);
    }
  });

  test('the app importing features and shared code is fine', async () => {
    const messages = await lint('src/app/Zones.tsx', `import { SITE_KEY } from '${AUTH_MODULE}';\nimport { Button } from '@/components/Button';\nexport const x = [SITE_KEY, Button];\n`);
    assert.deepEqual(restricted(messages), []);
  });

  test('an import cycle is reported', async () => {
    // A real module of src/lib and one it imports: linting the imported one as if it imported
    // the first back closes a cycle through the files on disk.
    const lib = join(WEB, 'src/lib');
    let pair = null;
    for (const name of readdirSync(lib).filter((n) => /\.tsx?$/.test(n) && !n.includes('.test.'))) {
      const m = readFileSync(join(lib, name), 'utf8').match(/^import [^;]* from '\.\/([\w-]+)';$/m);
      if (m) {
        pair = { importer: name.replace(/\.tsx?$/, ''), imported: readdirSync(lib).find((n) => n.replace(/\.tsx?$/, '') === m[1]) };
        break;
      }
    }
    assert.ok(pair?.imported, 'src/lib has a module importing another one');
    const path = relative(WEB, join(lib, pair.imported));
    const messages = await lint(path, `import * as back from './${pair.importer}';\nexport const x = back;\n`);
    assert.ok(messages.some((m) => m.rule === 'import-x/no-cycle'), `${path} ⇄ ${pair.importer}: ${JSON.stringify(messages)}`);
  });
});

describe('no words outside the catalogs', () => {
  const literal = (messages) => messages.filter((m) => m.rule === 'i18next/no-literal-string');

  test('text and read attributes written in a component are reported', async () => {
    const messages = await lint(
      'src/features/sso/components/Words.tsx',
      `export function Words() {\n  return <button type="button" aria-label="Close the pop-up" title="Close">Sign in</button>;\n}\n`,
    );
    assert.equal(literal(messages).length, 3, JSON.stringify(messages));
  });

  test('words from t(), names in code, the brand and the code format are fine', async () => {
    const messages = await lint(
      'src/features/sso/components/Words.tsx',
      `import { useTranslation } from 'react-i18next';\nexport function Words() {\n  const { t } = useTranslation('sso');\n  return <p className="muted" data-testid="x">{t('card.title')} CloudCX <input name="code" placeholder="xxxxx-xxxxx" /></p>;\n}\n`,
    );
    assert.deepEqual(literal(messages), []);
  });
});
