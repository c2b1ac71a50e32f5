// An admin resets an agent's 2FA with a reason in Administration; the agent then signs in
// with the password only.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ADMIN_EMAIL, ADMIN_PASSWORD, AGENT_PASSWORD, signIn, signOut, uniqueEmail, useStack } from './harness.mjs';

describe('administration', () => {
  const getStack = useStack();

  test('an admin resets an agent\'s 2FA with a reason; the agent signs in with the password only', async () => {
    const stack = getStack();
    const email = uniqueEmail('reset');
    await stack.client.createUser({ email, display_name: 'Rita Reset' });
    await stack.client.enableTotp(await stack.client.bearer(email, AGENT_PASSWORD));
    // With 2FA on, the password alone is not enough.
    assert.equal((await stack.client.login(email, AGENT_PASSWORD)).status, 'mfa_required');

    await stack.journey('admin-reset-2fa', async (page) => {
      await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Administration' }).click();
      await page.getByRole('heading', { name: 'Administration' }).waitFor();
      await page.getByRole('tab', { name: 'Users' }).waitFor();
      const row = page.getByRole('row', { name: new RegExp(email.replace(/[.]/g, '\\.')) });
      await row.getByRole('cell', { name: 'Authenticator app' }).waitFor();

      await row.getByRole('button', { name: `Reset 2FA of ${email}` }).click();
      const dialog = page.getByRole('dialog', { name: 'Reset 2FA of Rita Reset' });
      const confirm = dialog.getByRole('button', { name: 'Reset 2FA', exact: true });
      assert.equal(await confirm.isDisabled(), true, 'a reason is required');
      await dialog.getByLabel('Reason').fill('Lost phone; identity checked by video call');
      await dialog.getByLabel('Support ticket (optional)').fill('SUP-1234');
      await confirm.click();
      await dialog.waitFor({ state: 'hidden' });
      await page.getByText(`Two-factor authentication of ${email} was reset.`).waitFor();
      await row.getByRole('cell', { name: 'Off', exact: true }).waitFor();
      assert.equal(await row.getByRole('button', { name: /Reset 2FA/ }).count(), 0);

      // The reset is audited with its reason.
      const admin = await stack.client.admin();
      const { events } = await stack.client.call('GET', '/api/v1/admin/audit-events?limit=50', { token: admin });
      const audit = events.find((e) => JSON.stringify(e).includes('Lost phone; identity checked by video call'));
      assert.ok(audit, `an audit event with the reason: ${JSON.stringify(events.map((e) => e.kind))}`);

      // The agent is told by e-mail (through the outbox, in the background).
      await stack.mail.waitFor(email, /two-factor authentication was reset/i);

      await signOut(page);
      await signIn(page, email);
      await page.getByRole('button', { name: 'Set Up Authenticator app authentication' }).waitFor();
      await page.getByRole('button', { name: 'Set Up Email authentication' }).waitFor();
    });
  });
});
