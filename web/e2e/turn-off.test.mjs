// Turn 2FA off ("Turn off" → password → "Confirm") and switch to the e-mail method with the
// code that arrives at the SMTP sink; then sign in with an e-mailed code.
import { describe, test } from 'node:test';

import { focusIsOn } from './focus.mjs';
import { AGENT_PASSWORD, expectAccessible, signIn, signOut, submitPassword, uniqueEmail, useStack } from './harness.mjs';

describe('turn off and switch method', () => {
  const getStack = useStack();

  test('turn off the app method, set up e-mail authentication, sign in with an e-mailed code', async () => {
    const stack = getStack();
    const email = uniqueEmail('switch');
    await stack.client.createUser({ email, display_name: 'Sam Switch' });

    await stack.journey('turn-off-and-switch-to-email', async (page) => {
      await signIn(page, email);
      await stack.client.enableTotp(await stack.client.bearer(email, AGENT_PASSWORD));
      await page.reload();
      const app = page.locator('.method', { hasText: 'Authenticator app authentication' });
      const mail = page.locator('.method', { hasText: 'Email authentication' });
      await app.getByText('Active').waitFor();
      await mail.getByText('You can only choose one method').waitFor();

      const turnOff = page.getByRole('button', { name: 'Turn off Authenticator app authentication' });
      const off = page.getByRole('dialog', { name: 'Turn off two-factor authentication?' });
      // Keyboard: Escape closes the confirmation (whose password field took focus) and focus
      // goes back to Turn off, not to the page body.
      await turnOff.click();
      await off.getByLabel('Password').waitFor();
      await page.keyboard.press('Escape');
      await off.waitFor({ state: 'hidden' });
      await focusIsOn(page, 'Turn off Authenticator app authentication');

      await turnOff.click();
      // A wrong password first: the dialog says so and stays.
      await off.getByLabel('Password').fill('not-the-password');
      await off.getByRole('button', { name: 'Confirm' }).click();
      await off.getByText('The password is not correct.').waitFor();
      await expectAccessible(page, 'the "Turn off" confirmation with an error');
      await off.getByLabel('Password').fill(AGENT_PASSWORD);
      await off.getByRole('button', { name: 'Confirm' }).click();
      await off.waitFor({ state: 'hidden' });
      await page.getByText('Two-factor authentication is turned off.').waitFor();

      const seen = stack.mail.count(email);
      await page.getByRole('button', { name: 'Set Up Email authentication' }).click();
      const enter = page.getByRole('dialog', { name: 'Enter the Authentication Code' });
      await enter.waitFor();
      await expectAccessible(page, 'the e-mail set-up code pop-up');
      const code = await stack.mail.codeFor(email, { after: seen });
      await enter.getByLabel('Authentication code', { exact: true }).fill(code);
      await enter.getByRole('button', { name: 'Confirm' }).click();
      const enabled = page.getByRole('dialog', { name: '2FA is enabled' });
      await enabled.getByText('a code sent to your e-mail').waitFor();
      await enabled.getByRole('button', { name: 'Done' }).click();
      await mail.getByText('Active').waitFor();
      await app.getByText('You can only choose one method').waitFor();

      await signOut(page);
      const before = stack.mail.count(email);
      await submitPassword(page, email);
      await page.getByRole('heading', { name: 'Enter the Authentication Code' }).waitFor();
      await page.getByText('We sent a 6-digit code to your e-mail address.').waitFor();
      await page.getByRole('button', { name: /Resend code \(\d+ s\)/ }).waitFor();
      await page.getByLabel('Authentication code', { exact: true }).fill(await stack.mail.codeFor(email, { after: before }));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('heading', { name: 'Security Settings' }).waitFor();
      await mail.getByText('Active').waitFor();
    });
  });
});
