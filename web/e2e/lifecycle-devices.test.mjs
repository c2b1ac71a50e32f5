// Security Settings → "Devices": the same user signed in from a second browser (another user
// agent) shows up as a second device; its "Sign out" button ends that session, and
// "Sign out other devices" ends every other one.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AGENT_PASSWORD, expectAccessible, rejectsWith, signIn, TENANT, uniqueEmail, useStack } from './harness.mjs';

const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const EDGE_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0';

/** A password sign-in through the API from a client with this User-Agent (tokens in the body). */
async function apiLogin(base, email, userAgent) {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': userAgent },
    body: JSON.stringify({ tenant: TENANT, email, password: AGENT_PASSWORD, token_delivery: 'body' }),
  });
  const body = await res.json();
  assert.equal(body.status, 'authenticated', JSON.stringify(body));
  return body;
}

describe('devices', () => {
  const getStack = useStack();

  test('see a second device, sign it out with its button, then "Sign out other devices"', async () => {
    const stack = getStack();
    const email = uniqueEmail('devices');
    await stack.client.createUser({ email, display_name: 'Devi Ces' });

    // The second device: another browser context with Firefox's user agent, signed in through the SPA.
    const second = await stack.browser.newContext({ baseURL: stack.base, userAgent: FIREFOX_WINDOWS });
    let secondToken;
    try {
      const other = await second.newPage();
      other.setDefaultTimeout(15_000);
      const loginAnswer = other.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login') && r.status() === 200);
      await signIn(other, email);
      secondToken = (await (await loginAnswer).json()).access_token;
      await stack.client.call('GET', '/api/v1/me', { token: secondToken });

      await stack.journey('lifecycle-devices', async (page) => {
        await signIn(page, email);
        const card = page.locator('section', { has: page.getByRole('heading', { name: 'Devices', exact: true }) });
        const list = card.getByRole('list', { name: 'Signed-in devices' });
        await list.getByRole('listitem').nth(1).waitFor();
        assert.equal(await list.getByRole('listitem').count(), 2, 'two devices');
        // This device first ("Chrome on Linux": headless Chromium), then the other one.
        const first = list.getByRole('listitem').first();
        await first.getByText('This device').waitFor();
        await first.getByRole('heading', { name: /^Chrome on Linux/ }).waitFor();
        assert.equal(await first.getByRole('button', { name: /^Sign out/ }).count(), 0, 'no sign-out for this device');
        await list.getByRole('heading', { name: 'Firefox on Windows', exact: true }).waitFor();
        await expectAccessible(page, 'Security Settings, Devices with two devices');

        await card.getByRole('button', { name: 'Sign out Firefox on Windows (127.0.0.1)', exact: true }).click();
        await card.getByText('Firefox on Windows was signed out.').waitFor();
        await card.getByText('No other device is signed in.').waitFor();
        assert.equal(await list.getByRole('listitem').count(), 1);
        assert.equal(await card.getByRole('button', { name: 'Sign out other devices' }).count(), 0);

        // The other browser is signed out: its access token is refused at once, and a reload
        // lands on the sign-in page.
        await rejectsWith(stack.client.call('GET', '/api/v1/me', { token: secondToken }), 401, 'unauthenticated');
        await other.reload();
        await other.getByRole('heading', { name: 'Sign in to CloudCX' }).waitFor();

        // Two more devices, then "Sign out other devices".
        const phone = await apiLogin(stack.base, email, SAFARI_IPHONE);
        const laptop = await apiLogin(stack.base, email, EDGE_MAC);
        await page.reload();
        await list.getByRole('heading', { name: 'Safari on iPhone', exact: true }).waitFor();
        await list.getByRole('heading', { name: 'Edge on macOS', exact: true }).waitFor();
        assert.equal(await list.getByRole('listitem').count(), 3, 'three devices');
        await card.getByRole('button', { name: 'Sign out Safari on iPhone (127.0.0.1)', exact: true }).waitFor();

        await card.getByRole('button', { name: 'Sign out other devices' }).click();
        await card.getByText('Your other devices were signed out.').waitFor();
        await card.getByText('No other device is signed in.').waitFor();
        assert.equal(await list.getByRole('listitem').count(), 1);
        for (const s of [phone, laptop]) {
          await rejectsWith(stack.client.call('GET', '/api/v1/me', { token: s.access_token }), 401, 'unauthenticated');
          await rejectsWith(
            stack.client.call('POST', '/api/v1/auth/token/refresh', { body: { refresh_token: s.refresh_token, token_delivery: 'body' } }),
            401,
            'invalid_refresh_token',
          );
        }

        // This device is still signed in.
        await page.reload();
        await page.getByRole('heading', { name: 'Security Settings' }).waitFor();
        await list.getByRole('listitem').first().getByText('This device').waitFor();
      });
    } finally {
      await second.close();
    }
  });
});
