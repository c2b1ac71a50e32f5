// Security Settings → "Change password": current, new and repeated password. The old password
// then fails at sign-in, the new one works, and the user's other sessions were ended.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AGENT_PASSWORD, rejectsWith, signIn, signOut, submitPassword, uniqueEmail, useStack } from './harness.mjs';

const NEW_PASSWORD = 'Changed-Lifecycle-Passw0rd!83';

describe('change password', () => {
  const getStack = useStack();

  test('change the password in Security Settings; the old one fails, the new one signs in', async () => {
    const stack = getStack();
    const email = uniqueEmail('chpw');
    await stack.client.createUser({ email, display_name: 'Chad Change' });
    // Another device, signed in before the change: its session ends with the change.
    const other = await stack.client.login(email, AGENT_PASSWORD);
    assert.equal(other.status, 'authenticated');
    await stack.client.call('GET', '/api/v1/me', { token: other.access_token });

    await stack.journey('lifecycle-change-password', async (page) => {
      await signIn(page, email);
      const card = page.locator('section', { has: page.getByRole('heading', { name: 'Change password', exact: true }) });
      const submit = card.getByRole('button', { name: 'Change password' });
      assert.equal(await submit.isDisabled(), true, 'nothing typed yet');

      // A mismatched repetition is caught before anything is sent.
      await card.getByLabel('Current password', { exact: true }).fill(AGENT_PASSWORD);
      await card.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await card.getByLabel('Repeat new password', { exact: true }).fill(`${NEW_PASSWORD}x`);
      await submit.click();
      await card.getByText('The two passwords do not match.').waitFor();

      await card.getByLabel('Repeat new password', { exact: true }).fill(NEW_PASSWORD);
      await submit.click();
      await card.getByText('Your password was changed. Your other devices were signed out.').waitFor();
      assert.equal(await card.getByLabel('Current password', { exact: true }).inputValue(), '', 'the form is cleared');

      // The other session ended at once; this one goes on.
      await rejectsWith(stack.client.call('GET', '/api/v1/me', { token: other.access_token }), 401, 'unauthenticated');
      await rejectsWith(
        stack.client.call('POST', '/api/v1/auth/token/refresh', { body: { refresh_token: other.refresh_token, token_delivery: 'body' } }),
        401,
        'invalid_refresh_token',
      );
      await stack.mail.waitFor(email, /password was changed/i);

      await signOut(page);
      await submitPassword(page, email, AGENT_PASSWORD);
      await page.getByText('The site, e-mail or password is not correct.').waitFor();
      assert.equal(await page.getByRole('heading', { name: 'Security Settings' }).count(), 0);

      await signIn(page, email, NEW_PASSWORD);
      await page.getByText(email).first().waitFor();
    });
  });
});
