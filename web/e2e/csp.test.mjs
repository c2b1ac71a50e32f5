// The Content-Security-Policy as a browser enforces it: the harness fails a journey on any
// violation (proven here on an injected inline script), the app's pages report none, and the
// Swagger UI at /docs works under its own policy.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { assertNoCspViolations, useStack } from './harness.mjs';

describe('content security policy', () => {
  const getStack = useStack();

  test('an inline script is blocked and fails the journey', async () => {
    const stack = getStack();
    const { context, page } = await stack.newPage();
    try {
      const from = stack.cspViolations.length;
      await page.goto('/login');
      await page.getByRole('heading', { name: 'Sign in to CloudCX' }).waitFor();
      assertNoCspViolations(stack.cspViolations, from, 'the sign-in page');

      // What an injected script would be: inline, so the policy refuses to run it.
      await page.evaluate(() => {
        const s = document.createElement('script');
        s.textContent = 'window.__cxInlineRan = true;';
        document.body.appendChild(s);
      });
      // The report comes back over the exposed binding: wait for it (5 s at most).
      const deadline = Date.now() + 5_000;
      while (stack.cspViolations.length === from && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await page.evaluate(() => window.__cxInlineRan ?? false), false, 'the inline script ran');
      assert.throws(() => assertNoCspViolations(stack.cspViolations, from, 'the probe'), /script-src/);
      // The probe's violations are its own: later journeys count from here.
    } finally {
      await context.close();
    }
  });

  test('the Swagger UI works under its own policy', async () => {
    const stack = getStack();
    await stack.journey('docs-under-csp', async (page) => {
      const res = await page.goto('/docs/');
      assert.match(res.headers()['content-security-policy'], /frame-ancestors 'none'/);
      await page.getByText('CloudCX').first().waitFor();
      await page.locator('.opblock').first().waitFor();
    });
  });
});
