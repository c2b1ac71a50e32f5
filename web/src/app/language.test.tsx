// The language shown is the page's language: `<html lang>` (screen readers, fonts, hyphenation)
// and every word follow it, without a reload.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import { LoginPage } from '@/features/auth/components/LoginPage';
import { setLanguage } from '@/lib/i18n';

vi.mock('@/features/auth/api/get-sso-providers', () => ({ getSsoProviders: vi.fn(() => Promise.resolve([])) }));

describe('the language of the page', () => {
  afterEach(() => setLanguage('en'));

  it('the_document_lang_follows_the_language_shown', async () => {
    window.history.replaceState(null, '', '/login?site=acme');
    render(<LoginPage />);
    setLanguage('zh-CN');
    expect(document.documentElement.lang).toBe('zh-CN');
    expect(await screen.findByRole('heading', { name: '登录 CloudCX' })).toBeTruthy();

    setLanguage('en');
    expect(document.documentElement.lang).toBe('en');
    expect(await screen.findByRole('heading', { name: 'Sign in to CloudCX' })).toBeTruthy();
  });
});
