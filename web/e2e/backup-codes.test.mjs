// Backup codes: view, download (the file's content checked), generate new codes (with the
// confirmation), then sign in with a backup code (an old one is refused, a new one works).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';

import { AGENT_PASSWORD, expectAccessible, signIn, signOut, submitPassword, uniqueEmail, useStack } from './harness.mjs';

const shownCodes = async (dialog) =>
  (await dialog.locator('ul[aria-label="Backup codes"] code').allInnerTexts()).map((c) => c.trim());

describe('backup codes', () => {
  const getStack = useStack();

  test('view, download, generate new codes, sign in with a backup code', async () => {
    const stack = getStack();
    const email = uniqueEmail('backup');
    await stack.client.createUser({ email, display_name: 'Bea Backup' });

    await stack.journey('backup-codes', async (page) => {
      await signIn(page, email);
      // The authenticator app is turned on through the API (its set-up is the totp journey);
      // the browser's sign-in stays fresh for the sensitive actions below.
      await stack.client.enableTotp(await stack.client.bearer(email, AGENT_PASSWORD));
      await page.reload();
      await page.getByRole('heading', { name: 'Security Settings' }).waitFor();
      // The prompt to download stays until the codes are downloaded.
      await page.getByText('Download your backup codes.').waitFor();

      await page.locator('.backup-summary').getByRole('button', { name: 'View Backup Codes' }).click();
      const dialog = page.getByRole('dialog', { name: 'Backup Codes' });
      await dialog.locator('ul[aria-label="Backup codes"] li').first().waitFor();
      const codes = await shownCodes(dialog);
      assert.equal(codes.length, 10, `ten codes: ${codes}`);
      assert.equal(await dialog.getByText('Unused', { exact: true }).count(), 10);
      await dialog.getByText('10 of 10 codes unused · not downloaded yet').waitFor();
      await expectAccessible(page, 'the "Backup Codes" pop-up');

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        dialog.getByRole('button', { name: 'Download' }).click(),
      ]);
      assert.equal(download.suggestedFilename(), 'cloudcx-backup-codes.txt');
      const text = await readFile(await download.path(), 'utf8');
      for (const code of codes) assert.ok(text.includes(code), `the file holds ${code}:\n${text}`);
      await dialog.getByText('Backup codes downloaded as cloudcx-backup-codes.txt.').waitFor();
      await dialog.getByText('10 of 10 codes unused', { exact: true }).waitFor();

      // Generate new codes: first a confirmation, then the new set.
      await dialog.getByRole('button', { name: 'Generate new codes' }).click();
      await dialog.getByText('Generate new codes? Your current backup codes will stop working at once.').waitFor();
      await expectAccessible(page, 'the "Generate new codes?" confirmation');
      await dialog.getByRole('button', { name: 'Generate new codes' }).click();
      await dialog.getByText(/New backup codes generated/).waitFor();
      await dialog.getByText('10 of 10 codes unused · not downloaded yet').waitFor();
      const fresh = await shownCodes(dialog);
      assert.equal(fresh.length, 10);
      assert.ok(fresh.every((c) => !codes.includes(c)), 'a whole new set');
      await dialog.getByRole('button', { name: 'Close' }).click();
      await dialog.waitFor({ state: 'hidden' });
      // Not downloaded again: the prompt is back.
      await page.getByText('Download your backup codes.').waitFor();

      await signOut(page);
      await submitPassword(page, email);
      await page.getByRole('heading', { name: 'Enter the Authentication Code' }).waitFor();
      await page.getByRole('button', { name: 'Use a backup code' }).click();
      await page.getByLabel('Backup code').waitFor();
      await expectAccessible(page, 'the sign-in MFA step, backup code');
      // An old code died with the regeneration.
      await page.getByLabel('Backup code').fill(codes[0]);
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('alert').waitFor();
      await page.getByLabel('Backup code').fill(fresh[3]);
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('heading', { name: 'Security Settings' }).waitFor();
      await page.getByText('Backup codes: 9 of 10 left').waitFor();
    });
  });
});
