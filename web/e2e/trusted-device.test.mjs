// Trusted devices: tick "Remember this device" at the code step, sign out, sign in with only the
// password; forget the device in Security Settings, and the code is asked again.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { freshTotp, signIn, signOut, submitPassword, uniqueEmail, useStack } from './harness.mjs';

describe('trusted device', () => {
  const getStack = useStack();

  test('remember this device, sign in with only the password, forget it, the code is asked again', async () => {
    const stack = getStack();
    const email = uniqueEmail('trusted');
    await stack.client.createUser({ email, display_name: 'Theo Trusted' });

    await stack.journey('trusted-device', async (page) => {
      // 2FA with the authenticator app.
      await signIn(page, email);
      await page.getByRole('button', { name: 'Set Up Authenticator app authentication' }).click();
      const link = page.getByRole('dialog', { name: 'Link the app to your account' });
      await link.waitFor();
      const secret = (await link.getByTestId('totp-secret').innerText()).trim();
      await link.getByRole('button', { name: 'Next' }).click();
      const enter = page.getByRole('dialog', { name: 'Enter the Authentication Code' });
      const first = await freshTotp(secret);
      await enter.getByLabel('Authentication code', { exact: true }).fill(first.code);
      await enter.getByRole('button', { name: 'Confirm' }).click();
      const enabled = page.getByRole('dialog', { name: '2FA is enabled' });
      await enabled.getByRole('button', { name: 'Done' }).click();
      await enabled.waitFor({ state: 'hidden' });

      // Sign in with the box ticked.
      await signOut(page);
      await submitPassword(page, email);
      await page.getByRole('heading', { name: 'Enter the Authentication Code' }).waitFor();
      const second = await freshTotp(secret, first.step);
      await page.getByLabel('Authentication code', { exact: true }).fill(second.code);
      await page.getByLabel('Remember this device for 30 days').check();
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('heading', { name: 'Security Settings' }).waitFor();
      const cookies = await page.context().cookies();
      const device = cookies.find((c) => c.name === 'cx_device');
      assert.ok(device, 'the cx_device cookie is set');
      assert.equal(device.httpOnly, true);
      assert.equal(device.sameSite, 'Strict');
      assert.equal(device.path, '/api/v1');

      // Only the password now.
      await signOut(page);
      await submitPassword(page, email);
      await page.getByRole('heading', { name: 'Security Settings' }).waitFor();
      const trusted = page.getByRole('list', { name: 'Trusted devices' });
      await trusted.getByText('This device').waitFor();
      await trusted.getByText(/Trusted until/).waitFor();

      // Forget it: the code is asked again.
      await page.getByRole('button', { name: /^Forget .*\(this device\)$/ }).click();
      await page.getByText('No device is trusted.').waitFor();
      await signOut(page);
      await submitPassword(page, email);
      await page.getByRole('heading', { name: 'Enter the Authentication Code' }).waitFor();
      await page.getByLabel('Remember this device for 30 days').waitFor();
    });
  });
});
