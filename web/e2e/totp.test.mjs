// Authenticator app: set up from Security Settings with the code computed from the secret
// shown on screen, then sign out and sign back in with a code.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { focusIsOn } from './focus.mjs';
import { expectAccessible, freshTotp, signIn, signOut, submitPassword, uniqueEmail, useStack } from './harness.mjs';

const BACKUP_CODES_WORDS =
  "If you lose your device, you'll need these backup codes to log into your account. Without your device or a backup code, you'll have to contact the administrator to recover your account. We recommend you download them to keep them in a safe place.";

describe('authenticator app', () => {
  const getStack = useStack();

  test('set up the app from Security Settings, sign out, sign back in with a code', async () => {
    const stack = getStack();
    const email = uniqueEmail('totp');
    await stack.client.createUser({ email, display_name: 'Tina Totp' });

    await stack.journey('totp-setup-and-sign-in', async (page) => {
      await signIn(page, email);
      await expectAccessible(page, 'Security Settings, 2FA off');
      const setUp = page.getByRole('button', { name: 'Set Up Authenticator app authentication' });
      const link = page.getByRole('dialog', { name: 'Link the app to your account' });

      // Keyboard: Escape closes the pop-up and focus goes back to Set Up (disabled while the
      // set-up was requested), not to the page body.
      await setUp.click();
      await link.waitFor();
      await page.keyboard.press('Escape');
      await link.waitFor({ state: 'hidden' });
      await focusIsOn(page, 'Set Up Authenticator app authentication');

      await setUp.click();
      await link.waitFor();
      await link.getByRole('img', { name: /QR code/ }).waitFor();
      const secret = (await link.getByTestId('totp-secret').innerText()).trim();
      assert.match(secret, /^[A-Z2-7]{16,}=*$/, `a base32 secret on screen: ${secret}`);
      await expectAccessible(page, 'the "Link the app" pop-up');
      await link.getByRole('button', { name: 'Next' }).click();

      const enter = page.getByRole('dialog', { name: 'Enter the Authentication Code' });
      const first = await freshTotp(secret);
      await enter.getByLabel('Authentication code', { exact: true }).fill(first.code);
      await enter.getByRole('button', { name: 'Confirm' }).click();

      const enabled = page.getByRole('dialog', { name: '2FA is enabled' });
      await enabled.waitFor();
      // The help page's words.
      await enabled.getByText(BACKUP_CODES_WORDS, { exact: true }).waitFor();
      assert.equal(await enabled.locator('ul[aria-label="Backup codes"] li').count(), 10, 'ten backup codes');
      await enabled.getByRole('button', { name: 'View Backup Codes' }).waitFor();
      await expectAccessible(page, 'the "2FA is enabled" pop-up');
      await enabled.getByRole('button', { name: 'Done' }).click();
      await enabled.waitFor({ state: 'hidden' });
      await page.locator('.method', { hasText: 'Authenticator app authentication' }).getByText('Active').waitFor();
      await page.locator('.method', { hasText: 'Email authentication' }).getByText('You can only choose one method').waitFor();

      await signOut(page);
      await submitPassword(page, email);
      await page.getByRole('heading', { name: 'Enter the Authentication Code' }).waitFor();
      await expectAccessible(page, 'the sign-in MFA step');
      // The server spends a step once: the sign-in needs a code of a later step than the set-up's.
      const second = await freshTotp(secret, first.step);
      await page.getByLabel('Authentication code', { exact: true }).fill(second.code);
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('heading', { name: 'Security Settings' }).waitFor();
      await page.locator('.method', { hasText: 'Authenticator app authentication' }).getByText('Active').waitFor();
      await expectAccessible(page, 'Security Settings, 2FA on');
    });
  });
});
