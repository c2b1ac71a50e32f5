// A fresh site with no SSO application: Security Settings says so and the sign-in page
// offers no "Sign in with …" button.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { expectAccessible, signIn, TENANT, uniqueEmail, useStack } from './harness.mjs';

describe('single sign-on without applications', () => {
  const getStack = useStack();

  test('the no-application message on a fresh site', async () => {
    const stack = getStack();
    const email = uniqueEmail('noapp');
    await stack.client.createUser({ email, display_name: 'Nora Noapp' });
    const { providers } = await stack.client.call('GET', `/api/v1/auth/sso/providers?tenant=${TENANT}`);
    assert.deepEqual(providers, []);

    await stack.journey('sso-no-application', async (page) => {
      await page.goto('/login');
      await page.getByLabel('Site').fill(TENANT);
      // The buttons follow the site field after a short pause: none appear.
      await page.waitForResponse((r) => r.url().includes('/api/v1/auth/sso/providers'));
      assert.equal(await page.getByRole('button', { name: /^Sign in with/ }).count(), 0);
      await expectAccessible(page, 'the sign-in page');

      await signIn(page, email);
      const card = page.locator('section', { has: page.getByRole('heading', { name: 'Single Sign-On (SSO)' }) });
      await card.getByText("You haven't added any application. Please contact your system admin.").waitFor();
      assert.equal(await card.getByRole('button', { name: /Connect/ }).count(), 0);
      await expectAccessible(page, 'Security Settings, SSO without applications');
    });
  });
});
