// Passkeys with Chromium's virtual authenticator (the DevTools WebAuthn domain): add a passkey in
// Security Settings, sign out, sign in with "Sign in with a passkey" without typing the e-mail
// (a discoverable credential: the passkey says who), then through the e-mail field's passkey
// autofill; rename and remove one, after which it is refused.
//
// The stack runs at http://localhost:PORT: WebAuthn refuses an IP address as the relying party
// ID, and localhost over http is a secure context.
//
// Chromium's virtual authenticator answers a conditional (autofill) request at once, as if the
// user had picked the passkey from the e-mail field's suggestions. So the sign-in page's autofill
// signs in by itself a moment after the page loads; the journey that clicks the button first
// holds the autofill's challenge request until the button's own request is on its way.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { AGENT_PASSWORD, expectAccessible, signIn, signOut, uniqueEmail, useStack } from './harness.mjs';

/** A platform-like authenticator that holds resident keys and verifies the user at once. */
async function addVirtualAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

/**
 * Errors the page reported: uncaught exceptions and unhandled rejections, and console errors
 * other than Chromium's line for an HTTP error answer (the signed-out page's silent refresh is a
 * 401 by design; the journey checks the answers it cares about itself).
 */
function watchPageErrors(page) {
  const errors = [];
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if (/^Failed to load resource: the server responded with a status of 40[13]/.test(msg.text())) return;
    errors.push(`console: ${msg.text()}`);
  });
  return errors;
}

/** The claims of a JWT, unverified (the journey reads what the server put there). */
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

const OPTIONS = '/api/v1/auth/passkey/options';
const LOGIN = '/api/v1/auth/passkey/login';
const isPost = (path) => (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === path;

/**
 * Holds the challenge requests the sign-in page makes by itself (the autofill's) until
 * `release()`; requests after that go straight through. `held()` counts those being held.
 */
async function holdAutofill(page) {
  const waiting = [];
  let open = false;
  await page.route(`**${OPTIONS}`, async (route) => {
    if (!open) await new Promise((r) => waiting.push(r));
    await route.continue();
  });
  return {
    held: () => waiting.length,
    release() {
      open = true;
      for (const r of waiting.splice(0)) r();
    },
  };
}

async function waitUntil(what, check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Moves every session of `email` to a sign-in `seconds` ago in the run's SQLite file (as
 * admin-reauth.test.mjs does: the server's clock cannot be moved from outside).
 */
function ageSignIn(stack, email, seconds) {
  const script = [
    'import sqlite3, sys',
    'c = sqlite3.connect(sys.argv[1], timeout=10)',
    'c.execute("UPDATE refresh_families SET auth_time = auth_time - ? WHERE user_id = (SELECT id FROM users WHERE email = ?)", (int(sys.argv[2]), sys.argv[3]))',
    'c.commit()',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script, join(stack.api.dir, 'auth.db'), String(Number(seconds)), email], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`ageing the sign-in failed: ${r.error?.message ?? r.stderr}`);
}

async function confirmIfAsked(page) {
  const dialog = page.getByRole('dialog', { name: "Confirm it's you" });
  if (await dialog.isVisible()) {
    await dialog.getByLabel('Password').fill(AGENT_PASSWORD);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.waitFor({ state: 'hidden' });
  }
}

describe('passkeys', () => {
  const getStack = useStack({ host: 'localhost' });

  test('add a passkey in Security Settings, sign out, sign in with it without the e-mail (button, then autofill)', async () => {
    const stack = getStack();
    const email = uniqueEmail('passkey');
    await stack.client.createUser({ email, display_name: 'Petra Passkey' });

    await stack.journey('passkeys-add-and-sign-in', async (page, context) => {
      const errors = watchPageErrors(page);
      const { cdp, authenticatorId } = await addVirtualAuthenticator(context, page);

      await signIn(page, email);
      const card = page.locator('section', { has: page.getByRole('heading', { name: 'Passkeys' }) });
      await card.getByText("You haven't added a passkey yet.").waitFor();
      await card.getByRole('button', { name: 'Add a passkey' }).click();
      const add = page.getByRole('dialog', { name: 'Add a passkey' });
      await add.getByLabel('Passkey name').fill('Chromium virtual key');
      const stored = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/v1/me/passkeys');
      await add.getByRole('button', { name: 'Continue' }).click();
      await confirmIfAsked(page);
      assert.equal((await stored).status(), 201);
      await card.getByText('The passkey “Chromium virtual key” was added. You can now sign in with it.').waitFor();
      const item = card.getByRole('listitem').filter({ hasText: 'Chromium virtual key' });
      await item.waitFor();
      // The virtual authenticator does not back its keys up: a device-bound passkey.
      await item.getByText('This device only').waitFor();
      await item.getByText('Never used').waitFor();
      await expectAccessible(page, 'Security Settings, Passkeys with one passkey');

      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, 1, 'one credential in the authenticator');
      assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential (resident key)');

      const autofill = await holdAutofill(page);
      await signOut(page);
      // The site is remembered from the password sign-in; the e-mail stays empty.
      assert.equal(await page.getByLabel('Site').inputValue(), 'acme');
      assert.equal(await page.getByLabel('E-mail').inputValue(), '');
      assert.equal(await page.getByLabel('E-mail').getAttribute('autocomplete'), 'username webauthn');
      // The autofill asked for its challenge on page load (held here, see above).
      await waitUntil("the autofill's challenge request", () => autofill.held() > 0);
      const signedIn = page.waitForResponse(isPost(LOGIN));
      const buttonOptions = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === OPTIONS);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      // The button's request goes out; the autofill's follows and is then left unused.
      autofill.release();
      await buttonOptions;
      const answer = await signedIn;
      assert.equal(answer.status(), 200);
      const body = await answer.json();
      assert.equal(body.status, 'authenticated');
      assert.equal(body.refresh_token ?? null, null, 'the refresh token only as the cookie');
      const token = claims(body.access_token);
      assert.ok(token.amr.includes('hwk') && token.amr.includes('user'), `amr of a device-bound passkey: ${JSON.stringify(token.amr)}`);
      assert.ok(!token.amr.includes('pwd'), 'no password in this sign-in');
      assert.equal(token.acr, 'aal2');

      await page.getByRole('heading', { name: 'Security Settings' }).waitFor();
      await page.getByText(email).waitFor();
      await item.getByText('Last used').waitFor();
      // The refresh cookie of this sign-in works: a reload keeps the session.
      await page.reload();
      await page.getByRole('heading', { name: 'Security Settings' }).waitFor();
      await page.unroute(`**${OPTIONS}`);
      const logins = [];
      page.on('request', (r) => {
        if (r.method() === 'POST' && new URL(r.url()).pathname === LOGIN) logins.push(r);
      });

      // The autofill: sign out and touch nothing; the passkey "picked" from the e-mail field
      // signs in.
      const byAutofill = page.waitForResponse(isPost(LOGIN));
      await signOut(page);
      const second = await byAutofill;
      assert.equal(second.status(), 200);
      assert.deepEqual(claims((await second.json()).access_token).amr.sort(), ['hwk', 'user']);
      await page.getByRole('heading', { name: 'Security Settings' }).waitFor();
      assert.equal(logins.length, 1, 'one passkey sign-in, by the autofill');

      assert.deepEqual(errors, [], 'no page or console errors');
    });
  });

  test('rename and remove a passkey; a removed passkey no longer signs in', async () => {
    const stack = getStack();
    const email = uniqueEmail('passkey-rm');
    await stack.client.createUser({ email, display_name: 'Rémi Remove' });

    await stack.journey('passkeys-rename-remove', async (page, context) => {
      const errors = watchPageErrors(page);
      await addVirtualAuthenticator(context, page);

      await signIn(page, email);
      const card = page.locator('section', { has: page.getByRole('heading', { name: 'Passkeys' }) });
      await card.getByRole('button', { name: 'Add a passkey' }).click();
      await page.getByRole('dialog', { name: 'Add a passkey' }).getByRole('button', { name: 'Continue' }).click();
      await confirmIfAsked(page);
      await card.getByText(/was added/).waitFor();

      const renamed = page.waitForResponse((r) => r.request().method() === 'PATCH');
      await card.getByRole('button', { name: /^Rename / }).click();
      await card.getByLabel('New name').fill('Work laptop');
      await card.getByRole('button', { name: 'Save' }).click();
      assert.equal((await renamed).status(), 200);
      await card.getByText('The passkey is now called “Work laptop”.').waitFor();

      await card.getByRole('button', { name: 'Remove Work laptop' }).click();
      const confirm = page.getByRole('dialog', { name: 'Remove this passkey?' });
      await confirm.getByRole('button', { name: 'Remove' }).click();
      await confirmIfAsked(page);
      await card.getByText(/The passkey “Work laptop” was removed/).waitFor();
      await card.getByText("You haven't added a passkey yet.").waitFor();

      // The authenticator still holds the key; the server no longer knows it. The autofill offers
      // it (and the virtual authenticator picks it) at once: refused, with a sentence.
      const refusals = [];
      page.on('response', (r) => {
        if (isPost(LOGIN)(r)) refusals.push(r.status());
      });
      await signOut(page);
      await page.getByRole('alert').getByText(/That passkey was not accepted/).waitFor();
      await page.getByRole('heading', { name: 'Sign in to CloudCX' }).waitFor();
      // Offered again after a refusal, but not endlessly (each try spends the sign-in budget).
      await page.waitForTimeout(3_000);
      assert.ok(refusals.length >= 1 && refusals.length <= 3, `one to three refused tries: ${refusals}`);
      assert.ok(refusals.every((s) => s === 401), `each refused with 401: ${refusals}`);

      // The button says the same.
      const refused = page.waitForResponse(isPost(LOGIN));
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      assert.equal((await refused).status(), 401);
      await page.getByRole('alert').getByText(/That passkey was not accepted/).waitFor();
      await page.getByRole('heading', { name: 'Sign in to CloudCX' }).waitFor();

      // That 401 is the answer under test, not an error of the app.
      assert.deepEqual(errors, [], 'no page or console errors');
    });
  });
  test('an old sign-in is confirmed with the passkey instead of the password', async () => {
    const stack = getStack();
    const email = uniqueEmail('passkey-reauth');
    await stack.client.createUser({ email, display_name: 'Reo Reauth' });

    await stack.journey('passkeys-reauth', async (page, context) => {
      const errors = watchPageErrors(page);
      await addVirtualAuthenticator(context, page);

      await signIn(page, email);
      const card = page.locator('section', { has: page.getByRole('heading', { name: 'Passkeys' }) });
      await card.getByRole('button', { name: 'Add a passkey' }).click();
      const add = page.getByRole('dialog', { name: 'Add a passkey' });
      await add.getByLabel('Passkey name').fill('Laptop');
      await add.getByRole('button', { name: 'Continue' }).click();
      await card.getByText(/was added/).waitFor();

      // Eleven minutes later (the session's sign-in moved back; a reload refreshes the token).
      ageSignIn(stack, email, 11 * 60);
      await page.reload();
      await card.getByRole('button', { name: 'Remove Laptop' }).click();
      const stale = page.waitForResponse((r) => r.request().method() === 'DELETE');
      await page.getByRole('dialog', { name: 'Remove this passkey?' }).getByRole('button', { name: 'Remove' }).click();
      const refused = await stale;
      assert.equal(refused.status(), 403);
      assert.equal((await refused.json()).code, 'reauth_required');

      const confirm = page.getByRole('dialog', { name: "Confirm it's you" });
      const reauthed = page.waitForResponse(isPost('/api/v1/auth/reauth/passkey'));
      await confirm.getByRole('button', { name: 'Use a passkey' }).click();
      const answer = await reauthed;
      assert.equal(answer.status(), 200);
      const token = claims((await answer.json()).access_token);
      assert.ok(Date.now() / 1000 - token.auth_time < 60, 'a fresh auth_time');
      await confirm.waitFor({ state: 'hidden' });
      // The removal went through without being asked again.
      await card.getByText(/The passkey “Laptop” was removed/).waitFor();
      await card.getByText("You haven't added a passkey yet.").waitFor();

      assert.deepEqual(errors, [], 'no page or console errors');
    });
  });
  test('a site that turned passkeys off offers none', async () => {
    const stack = getStack();
    const email = uniqueEmail('passkey-off');
    await stack.client.createUser({ email, display_name: 'Otto Off' });
    const setPasskeys = async (on) =>
      stack.client.call('PATCH', '/api/v1/admin/settings', { token: await stack.client.admin(), body: { passkeys_enabled: on } });
    await setPasskeys(false);
    try {
      await stack.journey('passkeys-site-off', async (page, context) => {
        const errors = watchPageErrors(page);
        await addVirtualAuthenticator(context, page);

        // The autofill's challenge request learns it: the button goes.
        const off = page.waitForResponse(isPost(OPTIONS));
        await page.goto('/login?site=acme');
        const answer = await off;
        assert.equal(answer.status(), 403);
        assert.equal((await answer.json()).code, 'passkeys_disabled');
        await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor({ state: 'detached' });

        await signIn(page, email);
        const card = page.locator('section', { has: page.getByRole('heading', { name: 'Passkeys' }) });
        await card.getByRole('button', { name: 'Add a passkey' }).click();
        await page.getByRole('dialog', { name: 'Add a passkey' }).getByRole('button', { name: 'Continue' }).click();
        await card.getByText("Your site has turned passkeys off: they can't be added or used to sign in for now.").waitFor();
        assert.equal(await card.getByRole('button', { name: 'Add a passkey' }).count(), 0);
        assert.equal(await page.getByRole('dialog').count(), 0);

        assert.deepEqual(errors, [], 'no page or console errors');
      });
    } finally {
      await setPasskeys(true);
    }
  });
});
