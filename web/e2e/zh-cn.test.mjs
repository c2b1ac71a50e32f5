// A browser that prefers Simplified Chinese (Chromium's `--lang=zh-CN`, a zh-CN locale and so
// `Accept-Language: zh-CN`): the app shows in Chinese, and so do the mails while the account has
// no language of its own; choosing English in the profile switches the app and the mails, and
// the choice is kept on the account (a reload, a fresh browser still in Chinese).
//
// Labels are read from the catalogs at run time (web/src/locales/<lang>/*.json), so the journey
// follows the translators' words. Steps on screens whose words other catalogs own go by the
// form's structure (field names, submit buttons), not by their text.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { AGENT_PASSWORD, REPO, TENANT, expectAccessible, uniqueEmail, useStack } from './harness.mjs';

const LOCALES = join(REPO, 'web/src/locales');
const catalog = (lang, ns) => JSON.parse(readFileSync(join(LOCALES, lang, `${ns}.json`), 'utf8'));
const zh = catalog('zh-CN', 'profile').language;
const en = catalog('en', 'profile').language;

const HAN = /\p{Script=Han}/u;

/** Fills the sign-in form by its fields' names and submits it (whatever language it is in). */
async function submitSignIn(page, email) {
  await page.goto('/login');
  await page.locator('input[name="tenant"]').fill(TENANT);
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(AGENT_PASSWORD);
  await page.locator('form button[type="submit"]').click();
}

const htmlLang = (page) => page.evaluate(() => document.documentElement.lang);

describe('a browser that prefers Chinese', () => {
  const getStack = useStack({ locale: 'zh-CN' });

  test('shows the app and sends the mails in Chinese until the account chooses English', async () => {
    const stack = getStack();
    const email = uniqueEmail('zh');
    await stack.client.createUser({ email, display_name: '李雷' });

    await stack.journey('zh-cn', async (page) => {
      // The sign-in page, in the browser's language.
      await page.goto('/login');
      await page.locator('input[name="password"]').waitFor();
      assert.equal(await htmlLang(page), 'zh-CN');
      assert.equal(await page.evaluate(() => navigator.language), 'zh-CN');
      const auth = catalog('zh-CN', 'auth');
      await page.getByRole('heading', { name: auth.login.title, exact: true }).waitFor();
      await page.getByRole('button', { name: auth.login.submit, exact: true }).waitFor();
      await page.getByRole('link', { name: auth.login.forgotPassword, exact: true }).waitFor();
      await expectAccessible(page, 'the sign-in page in Chinese');

      // Signed in: the profile's language card says "browser default", in Chinese.
      await submitSignIn(page, email);
      await page.getByRole('heading', { name: zh.title, exact: true }).waitFor();
      const picker = page.getByLabel(zh.label, { exact: true });
      assert.equal(await picker.inputValue(), '');
      assert.equal(await picker.locator('option:checked').innerText(), zh.browserDefault);
      assert.equal(await htmlLang(page), 'zh-CN');
      // The rest of Security Settings in Chinese too, and no English heading left on it.
      const security = catalog('zh-CN', 'security');
      await page.getByRole('heading', { name: catalog('zh-CN', 'common').securityRoute.title, exact: true }).waitFor();
      await page.getByRole('heading', { name: security.twoFactor.title, exact: true }).waitFor();
      await page.getByRole('heading', { name: catalog('zh-CN', 'sso').card.title, exact: true }).waitFor();
      await page.getByText(security.twoFactor.emailName, { exact: true }).waitFor();
      for (const heading of await page.getByRole('heading').allInnerTexts()) {
        assert.match(heading, HAN, `a heading not in Chinese: ${heading}`);
      }
      await expectAccessible(page, 'Security Settings in Chinese');

      // E-mail codes as the 2FA method: the code mail is in Chinese (the account has no choice;
      // the browser's Accept-Language decides).
      const seen = stack.mail.count(email);
      await page.locator('.method-list .method').first().locator('.method-actions button').click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      const code = await stack.mail.codeFor(email, { after: seen });
      // (The new-sign-in notice may arrive in between: pick the code mail by its code.)
      const codeMail = stack.mail.to(email).slice(seen).find((m) => m.body.includes(code));
      assert.equal(codeMail.subject, '您的 CloudCX 验证码');
      assert.match(codeMail.body, new RegExp(`您的 CloudCX 验证码是：${code}`));
      await dialog.locator('input[autocomplete="one-time-code"]').fill(code);
      await dialog.locator('button[type="submit"]').click();
      // Two-factor authentication is on: the notice is in Chinese too.
      const on = await stack.mail.waitFor(email, /双重验证已开启/);
      assert.match(on.body, /您的 CloudCX 账户已开启双重验证/);
      // The dialog that shows the new backup codes (`xxxxx-xxxxx`), closed with Escape.
      const tenth = page.locator('.backup-codes code').nth(9);
      await tenth.waitFor();
      assert.match(await tenth.innerText(), /^[a-z0-9]{5}-[a-z0-9]{5}$/);
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'hidden' });

      // English, chosen on the account: the app switches at once…
      await page.getByLabel(zh.label, { exact: true }).selectOption('en');
      await page.getByRole('heading', { name: en.title, exact: true }).waitFor();
      await page.getByRole('status').filter({ hasText: en.saved }).waitFor();
      assert.equal(await htmlLang(page), 'en');
      assert.equal(await page.getByLabel(en.label, { exact: true }).inputValue(), 'en');

      // …stays after a reload (stored on the account, whatever the browser prefers)…
      await page.reload();
      await page.getByRole('heading', { name: en.title, exact: true }).waitFor();
      assert.equal(await page.getByLabel(en.label, { exact: true }).inputValue(), 'en');
      assert.equal(await htmlLang(page), 'en');
      const options = await page.getByLabel(en.label, { exact: true }).locator('option').allInnerTexts();
      assert.deepEqual(options, [en.browserDefault, 'English', '简体中文']);

      // …and the mails follow it: a sign-in from another Chinese browser gets its code in English.
      const other = await stack.browser.newContext({ baseURL: stack.base, locale: 'zh-CN' });
      try {
        const second = await other.newPage();
        const before = stack.mail.count(email);
        await submitSignIn(second, email);
        await stack.mail.codeFor(email, { after: before });
        const signInMail = stack.mail.to(email).slice(before).find((m) => /\d{6}/.test(m.body));
        assert.equal(signInMail.subject, 'Your CloudCX sign-in code');
        assert.doesNotMatch(signInMail.body, HAN);
      } finally {
        await other.close();
      }
    });
  });
});
