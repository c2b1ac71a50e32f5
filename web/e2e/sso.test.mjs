// Single sign-on against the real OpenID Provider of tests/oidc-provider:
//  - connect and disconnect a Google account from Security Settings;
//  - "Sign in with Office 365": first the not-connected path ("sign in to connect this
//    account"), then a sign-in with the connected account.
// "Office 365" is an application of kind `oidc` named "Office 365": a `microsoft` application
// needs the ID token's `tid` (and `oid`), which oidc-provider does not issue.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { expectAccessible, providerLogin, signIn, signOut, TENANT, uniqueEmail, useStack } from './harness.mjs';

const GOOGLE = { client_id: 'cloudcx-google', client_secret: 'google-client-secret-0123456789' };
const OFFICE = { client_id: 'cloudcx-office', client_secret: 'office-client-secret-0123456789' };

/** Waits until the browser is back on our origin's Security Settings. */
async function backOnSecuritySettings(page) {
  await page.waitForURL((url) => url.pathname === '/settings/security', { timeout: 20_000 });
  await page.getByRole('heading', { name: 'Security Settings' }).waitFor();
}

describe('single sign-on', () => {
  const getStack = useStack({
    oidcClients: [GOOGLE, OFFICE],
    async setup(stack) {
      const google = await stack.client.createSsoProvider({ kind: 'google', display_name: 'Google', issuer: stack.oidc.issuer, ...GOOGLE });
      assert.equal(google.redirect_uri, stack.redirectUri, 'the redirect URI registered at the provider');
      await stack.client.createSsoProvider({ kind: 'oidc', display_name: 'Office 365', issuer: stack.oidc.issuer, ...OFFICE });
    },
  });

  test('connect and disconnect a Google account from Security Settings', async () => {
    const stack = getStack();
    const email = uniqueEmail('google');
    await stack.client.createUser({ email, display_name: 'Gus Google' });

    await stack.journey('sso-connect-disconnect-google', async (page) => {
      await signIn(page, email);
      const card = page.locator('section', { has: page.getByRole('heading', { name: 'Single Sign-On (SSO)' }) });
      const google = card.locator('.method', { has: page.getByRole('heading', { name: 'Google', exact: true }) });
      await google.getByText('Not connected').waitFor();
      await expectAccessible(page, 'Security Settings, SSO with applications');

      await card.getByRole('button', { name: 'Connect Google' }).click();
      // The provider's own login page.
      await page.waitForURL((url) => url.origin === stack.oidc.issuer);
      await providerLogin(page, 'gus.google');
      await backOnSecuritySettings(page);
      await page.getByText('Your Google account gus.google@example.com is connected.').waitFor();
      await google.getByText('Connected as gus.google@example.com').waitFor();

      const { connections } = await stack.client.call('GET', '/api/v1/me/sso', {
        token: await stack.client.bearer(email, 'Agent-Secret-Passw0rd!42'),
      });
      assert.equal(connections.length, 1);
      assert.equal(connections[0].kind, 'google');

      await card.getByRole('button', { name: 'Disconnect Google' }).click();
      await card.getByText('Your Google account is disconnected.').waitFor();
      // One current message: the banner the connect left is gone.
      assert.equal(await page.getByText('gus.google@example.com is connected.').count(), 0, 'the connect banner is replaced');
      await google.getByText('Not connected').waitFor();
      await card.getByRole('button', { name: 'Connect Google' }).waitFor();
    });
  });

  test('sign in with Office 365 (connect from the sign-in page, then sign in with it)', async () => {
    const stack = getStack();
    const email = uniqueEmail('office');
    await stack.client.createUser({ email, display_name: 'Olga Office' });

    await stack.journey('sso-sign-in-office365', async (page) => {
      // Not connected yet: the provider's account is linked after a password sign-in.
      await page.goto('/login');
      await page.getByLabel('Site').fill(TENANT);
      await page.getByRole('button', { name: 'Sign in with Google' }).waitFor();
      await expectAccessible(page, 'the sign-in page with SSO buttons');
      await page.getByRole('button', { name: 'Sign in with Office 365' }).click();
      await page.waitForURL((url) => url.origin === stack.oidc.issuer);
      await providerLogin(page, 'olga.office');
      await page.getByRole('heading', { name: 'Connect your account' }).waitFor();
      await page.getByText('Connect Office 365 account olga.office@example.com to your CloudCX account?').waitFor();
      await expectAccessible(page, 'the SSO "Connect your account" page');
      await page.getByRole('button', { name: 'Connect', exact: true }).click();
      await page.getByText('Sign in to connect your Office 365 account olga.office@example.com to your CloudCX account.').waitFor();
      // The SPA remembers the site only after a password sign-in, so after the provider's
      // round trip the Site field may be empty: fill it if so.
      const site = page.getByLabel('Site');
      if (!(await site.inputValue())) await site.fill(TENANT);
      await page.getByLabel('E-mail').fill(email);
      await page.getByLabel('Password').fill('Agent-Secret-Passw0rd!42');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await backOnSecuritySettings(page);
      const office = page.locator('.method', { has: page.getByRole('heading', { name: 'Office 365', exact: true }) });
      await office.getByText('Connected as olga.office@example.com').waitFor();

      // Now "Sign in with Office 365" signs this agent in, no password asked.
      await signOut(page);
      await page.getByLabel('Site').fill(TENANT);
      await page.getByRole('button', { name: 'Sign in with Office 365' }).click();
      // The provider may still hold its own session from a minute ago: then no login form.
      const form = page.locator('input[name="login"]');
      await Promise.race([
        form.waitFor({ timeout: 20_000 }).then(() => providerLogin(page, 'olga.office')).catch(() => undefined),
        page.waitForURL((url) => url.pathname === '/settings/security', { timeout: 20_000 }),
      ]);
      await backOnSecuritySettings(page);
      await page.getByText(`Olga Office · ${email}`).waitFor();
      await office.getByText('Connected as olga.office@example.com').waitFor();
    });
  });

  test('a fresh browser signs in with the connected Office 365 account', async () => {
    const stack = getStack();
    // Run after the previous test: its agent's account `olga.office` is connected.
    await stack.journey('sso-sign-in-office365-fresh-browser', async (page) => {
      await page.goto(`/login?site=${TENANT}`);
      await page.getByRole('button', { name: 'Sign in with Office 365' }).click();
      await page.waitForURL((url) => url.origin === stack.oidc.issuer);
      await providerLogin(page, 'olga.office');
      await backOnSecuritySettings(page);
      await page.getByText(/Olga Office · /).waitFor();
    });
  });
});
