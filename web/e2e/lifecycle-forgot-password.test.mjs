// "Forgot password?" on the sign-in page → the neutral answer → the mailed link opens
// /reset-password → a new password typed twice → sign in with it; the link works only once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AGENT_PASSWORD, expectAccessible, resetLinkFor, signIn, signOut, submitPassword, TENANT, uniqueEmail, useStack } from './harness.mjs';

const NEW_PASSWORD = 'Forgotten-Then-Reset-Passw0rd!61';
const NEUTRAL = 'If the account exists, we sent a link to reset its password.';

describe('forgot password', () => {
  const getStack = useStack();

  test('"Forgot password?" → mailed link → new password → sign in; the link then no longer works', async () => {
    const stack = getStack();
    const email = uniqueEmail('forgot');
    await stack.client.createUser({ email, display_name: 'Fiona Forgot' });
    const before = stack.mail.count(email);

    await stack.journey('lifecycle-forgot-password', async (page) => {
      await page.goto('/login');
      await page.getByLabel('Site').fill(TENANT);
      await page.getByLabel('E-mail').fill(email);
      await page.getByRole('link', { name: 'Forgot password?' }).click();

      await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
      // What was typed on the sign-in page comes along.
      assert.equal(await page.getByLabel('Site').inputValue(), TENANT);
      assert.equal(await page.getByLabel('E-mail').inputValue(), email);
      await expectAccessible(page, 'the "Forgot password" page');
      await page.getByRole('button', { name: 'Send reset link' }).click();
      await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
      await page.getByText(NEUTRAL).waitFor();

      // An unknown address gets the very same answer.
      await page.getByRole('button', { name: 'Send another link' }).click();
      await page.getByLabel('E-mail').fill('nobody.here@acme.example');
      await page.getByRole('button', { name: 'Send reset link' }).click();
      await page.getByText(NEUTRAL).waitFor();

      const link = await resetLinkFor(stack.mail, email, { after: before });
      assert.ok(link.startsWith(`${stack.base}/reset-password?token=`), link);

      await page.goto(link);
      await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
      // The token is taken out of the address bar.
      await page.waitForURL((url) => url.pathname === '/reset-password' && !url.search.includes('token'));
      await expectAccessible(page, 'the "Reset password" page');
      await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel('Repeat new password', { exact: true }).fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('heading', { name: 'Password changed' }).waitFor();
      await page.getByText('Your password was changed. Sign in with it.').waitFor();
      await expectAccessible(page, 'the "Password changed" page');
      await stack.mail.waitFor(email, /password was reset/i);

      // The reset signed nobody in: the old password is refused, the new one works.
      await page.getByRole('link', { name: 'Sign in' }).click();
      await submitPassword(page, email, AGENT_PASSWORD);
      await page.getByText('The site, e-mail or password is not correct.').waitFor();
      await signIn(page, email, NEW_PASSWORD);
      await signOut(page);

      // The same link a second time.
      await page.goto(link);
      await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
      await page.getByLabel('New password', { exact: true }).fill('Another-Fresh-Passw0rd!29');
      await page.getByLabel('Repeat new password', { exact: true }).fill('Another-Fresh-Passw0rd!29');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByText(/This reset link does not work any more: it was already used, it expired/).waitFor();
      await page.getByRole('link', { name: 'Ask for a new link' }).waitFor();
    });
    // The refused second use changed nothing.
    assert.equal((await stack.client.login(email, NEW_PASSWORD)).status, 'authenticated');
  });
});
