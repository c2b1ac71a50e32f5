// Administration with a sign-in older than 10 minutes: the API answers an admin change with 403
// `reauth_required`, the SPA opens "Confirm it's you", and once the password is confirmed the
// same change goes through without the admin doing it again.
//
// A stale session without waiting 10 minutes: the server's clock cannot be moved from outside (no
// setting for it, on purpose), so the journey moves the session's sign-in back instead. The
// admin's refresh families get an `auth_time` 11 minutes earlier in the run's SQLite database;
// a reload makes the SPA refresh its access token from the cookie, and a refresh keeps the
// family's `auth_time` (docs/API.md, "Refresh tokens and cookies") — exactly an admin who signed in 11 minutes ago.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { ADMIN_EMAIL, ADMIN_PASSWORD, AGENT_PASSWORD, escapeRegExp, expectAccessible, signIn, uniqueEmail, useStack } from './harness.mjs';

/**
 * Moves every session of `email` to a sign-in `seconds` ago, in the API's own database file.
 * Through Python's built-in sqlite3 module: python3 is on every machine the suite runs on, the
 * sqlite3 command is not.
 */
function ageSignIn(stack, email, seconds) {
  const db = join(stack.api.dir, 'auth.db');
  const script = [
    'import sqlite3, sys',
    'c = sqlite3.connect(sys.argv[1], timeout=10)',
    'c.execute("UPDATE refresh_families SET auth_time = auth_time - ? WHERE user_id = (SELECT id FROM users WHERE email = ?)", (int(sys.argv[2]), sys.argv[3]))',
    'c.commit()',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script, db, String(Number(seconds)), email], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`ageing the sign-in failed: ${r.error?.message ?? r.stderr}`);
}

/** The answer to the next admin change of this method and path. */
const adminAnswer = (page, method, path) =>
  page.waitForResponse((res) => res.request().method() === method && new URL(res.url()).pathname === path);

async function confirmItsYou(page) {
  const dialog = page.getByRole('dialog', { name: "Confirm it's you" });
  await dialog.getByLabel('Password').waitFor();
  await expectAccessible(page, `the "Confirm it's you" dialog`);
  await dialog.getByLabel('Password').fill(ADMIN_PASSWORD);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.waitFor({ state: 'hidden' });
}

describe('administration with an old sign-in', () => {
  const getStack = useStack();

  test('an admin change asks for the password again, then goes through', async () => {
    const stack = getStack();
    const agent = uniqueEmail('stale');
    await stack.client.createUser({ email: agent, display_name: 'Stella Agent' });
    const { id: providerId } = await stack.client.createSsoProvider({ kind: 'google', display_name: 'Google', client_id: 'cid', client_secret: 'secret' });
    const added = uniqueEmail('added');

    await stack.journey('admin-reauth', async (page) => {
      await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      ageSignIn(stack, ADMIN_EMAIL, 11 * 60);
      await page.goto('/admin?tab=users');
      await page.getByRole('row', { name: new RegExp(escapeRegExp(agent)) }).waitFor();

      // Add a user: refused as stale, the dialog asks, the same user is then added.
      await page.getByRole('button', { name: 'Add user' }).click();
      const form = page.getByRole('dialog', { name: 'Add user' });
      await form.getByLabel('E-mail').waitFor();
      await expectAccessible(page, 'the "Add user" pop-up');
      await form.getByLabel('E-mail').fill(added);
      await form.getByLabel('Name').fill('Added Later');
      await form.getByLabel('Initial password').fill(AGENT_PASSWORD);
      const refused = adminAnswer(page, 'POST', '/api/v1/admin/users');
      await form.getByRole('button', { name: 'Add user' }).click();
      const answer = await refused;
      assert.equal(answer.status(), 403);
      assert.equal((await answer.json()).code, 'reauth_required');
      assert.equal((await stack.client.listUsers()).some((u) => u.email === added), false, 'nothing added before the password');
      const retried = adminAnswer(page, 'POST', '/api/v1/admin/users');
      await confirmItsYou(page);
      assert.equal((await retried).status(), 201);
      await page.getByText(`${added} was added.`).waitFor();
      assert.ok((await stack.client.listUsers()).some((u) => u.email === added), 'added after the password');
      assert.equal((await stack.client.login(added, AGENT_PASSWORD)).status, 'authenticated');

      // Later again: disabling an SSO application asks once more.
      ageSignIn(stack, ADMIN_EMAIL, 11 * 60);
      await page.goto('/admin?tab=sso');
      await page.getByRole('heading', { name: 'SSO applications' }).waitFor();
      await page.getByRole('button', { name: 'Disable', exact: true }).waitFor();
      await expectAccessible(page, 'Administration → SSO applications');
      const toggle = adminAnswer(page, 'PATCH', `/api/v1/admin/sso-providers/${providerId}`);
      await page.getByRole('button', { name: 'Disable', exact: true }).click();
      assert.equal((await toggle).status(), 403);
      await confirmItsYou(page);
      await page.getByText('Disabled', { exact: true }).waitFor();
      const { providers } = await stack.client.call('GET', '/api/v1/admin/sso-providers', { token: await stack.client.admin() });
      assert.equal(providers.find((p) => p.id === providerId).enabled, false);
    });
  });
});
