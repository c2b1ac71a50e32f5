// Administration → Users, as the admin: edit an agent's name, disable and enable them, unlock
// them after ten wrong passwords, send them a reset link, and delete them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  AGENT_PASSWORD,
  escapeRegExp,
  expectAccessible,
  rejectsWith,
  resetLinkFor,
  signIn,
  submitPassword,
  uniqueEmail,
  useStack,
} from './harness.mjs';

describe('administration: user actions', () => {
  const getStack = useStack();

  test('edit, disable, enable, unlock, send a reset link to and delete an agent', async () => {
    const stack = getStack();
    const email = uniqueEmail('lifecycle');
    await stack.client.createUser({ email, display_name: 'Avery Agent' });
    const agentToken = await stack.client.bearer(email, AGENT_PASSWORD);
    const user = (await stack.client.listUsers()).find((u) => u.email === email);
    assert.ok(user, 'the agent is listed');

    await stack.journey('lifecycle-admin-users', async (page, context) => {
      await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      const openUsers = async () => {
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Administration' }).click();
        await page.getByRole('heading', { name: 'Administration' }).waitFor();
        await page.getByRole('tab', { name: 'Users' }).waitFor();
      };
      await openUsers();
      const row = page.getByRole('row', { name: new RegExp(escapeRegExp(email)) });
      const button = (name) => page.getByRole('button', { name: `${name} ${email}`, exact: true });
      await row.getByRole('cell', { name: 'Active', exact: true }).waitFor();
      await expectAccessible(page, 'Administration → Users');

      // Edit the name.
      await button('Edit').click();
      const edit = page.getByRole('dialog', { name: 'Edit Avery Agent' });
      await edit.getByLabel('Name').waitFor();
      await expectAccessible(page, 'the "Edit user" pop-up');
      await edit.getByLabel('Name').fill('Avery Renamed');
      await edit.getByRole('button', { name: 'Save' }).click();
      await edit.waitFor({ state: 'hidden' });
      await page.getByText(`${email} was saved.`).waitFor();
      await row.getByRole('cell', { name: 'Avery Renamed', exact: true }).waitFor();
      assert.equal((await stack.client.listUsers()).find((u) => u.id === user.id).display_name, 'Avery Renamed');

      // Disable: the live token is refused at once, and the sign-in answers as for a wrong password.
      await button('Disable').click();
      await page.getByText(`${email} was disabled and signed out everywhere.`, { exact: false }).waitFor();
      await row.getByText('Disabled', { exact: true }).waitFor();
      await rejectsWith(stack.client.call('GET', '/api/v1/me', { token: agentToken }), 401, 'unauthenticated');
      await rejectsWith(stack.client.login(email, AGENT_PASSWORD), 401, 'invalid_credentials');
      const agentPage = await context.browser().newContext({ baseURL: stack.base });
      try {
        const agent = await agentPage.newPage();
        agent.setDefaultTimeout(15_000);
        await submitPassword(agent, email);
        await agent.getByText('The site, e-mail or password is not correct.').waitFor();
      } finally {
        await agentPage.close();
      }

      // Enable again.
      await button('Enable').click();
      await page.getByText(`${email} was enabled and can sign in again.`).waitFor();
      await row.getByRole('cell', { name: 'Active', exact: true }).waitFor();
      assert.equal((await stack.client.login(email, AGENT_PASSWORD)).status, 'authenticated');

      // Ten wrong passwords lock the account; then even the right one is refused.
      for (let i = 0; i < 10; i++) {
        await rejectsWith(stack.client.login(email, `Wrong-Passw0rd-${i}!`), 401, 'invalid_credentials');
      }
      await rejectsWith(stack.client.login(email, AGENT_PASSWORD), 429, 'too_many_attempts');
      await page.reload();
      await page.getByRole('heading', { name: 'Administration' }).waitFor();
      await row.getByText('Locked', { exact: true }).waitFor();
      await button('Unlock').click();
      await page.getByText(`${email} was unlocked and can try to sign in again.`).waitFor();
      await row.getByRole('cell', { name: 'Active', exact: true }).waitFor();
      assert.equal(await button('Unlock').count(), 0);
      assert.equal((await stack.client.login(email, AGENT_PASSWORD)).status, 'authenticated');

      // A reset link by e-mail.
      const mailed = stack.mail.count(email);
      await button('Send reset link to').click();
      await page.getByText(`A password reset link is on its way to ${email}.`, { exact: false }).waitFor();
      const link = await resetLinkFor(stack.mail, email, { after: mailed });
      assert.ok(link.startsWith(`${stack.base}/reset-password?token=`), link);

      // Delete, after confirming.
      await button('Delete').click();
      const confirm = page.getByRole('dialog', { name: 'Delete Avery Renamed?' });
      await confirm.getByText('This cannot be undone.', { exact: false }).waitFor();
      await expectAccessible(page, 'the "Delete user?" confirmation');
      await confirm.getByRole('button', { name: 'Delete user' }).click();
      await confirm.waitFor({ state: 'hidden' });
      await page.getByText(`${email} was deleted. Their audit history stays.`).waitFor();
      assert.equal(await row.count(), 0, 'the row is gone');
      await page.reload();
      await page.getByRole('row', { name: new RegExp(escapeRegExp(ADMIN_EMAIL)) }).waitFor();
      assert.equal(await row.count(), 0, 'still gone after a reload');
      assert.equal((await stack.client.listUsers()).some((u) => u.email === email), false);
      await rejectsWith(stack.client.login(email, AGENT_PASSWORD), 401, 'invalid_credentials');
      await page.getByRole('tab', { name: 'Audit log' }).click();
      await page.getByRole('cell', { name: 'user_deleted' }).first().waitFor();
      await expectAccessible(page, 'Administration → Audit log');
      await page.getByRole('tab', { name: 'Site settings' }).click();
      await page.getByLabel('Require 2FA for everyone').waitFor();
      await expectAccessible(page, 'Administration → Site settings');

      // Every action is audited with the admin as its actor, and the history outlives the user.
      const admin = await stack.client.admin();
      const me = await stack.client.call('GET', '/api/v1/me', { token: admin });
      const { events } = await stack.client.call('GET', '/api/v1/admin/audit-events?limit=100', { token: admin });
      const mine = events.filter((e) => e.user_id === user.id && e.actor_id === me.id).map((e) => e.kind);
      for (const kind of ['user_updated', 'user_disabled', 'user_enabled', 'user_unlocked', 'password_reset_sent', 'user_deleted']) {
        assert.ok(mine.includes(kind), `audited ${kind}: ${JSON.stringify(mine)}`);
      }
    });
  });
});
