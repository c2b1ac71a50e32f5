// The sign-in page's words in each language, and the SSO buttons' marks.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import i18n from '@/lib/i18n';
import { ApiProblem } from '@/lib/problem';
import { LoginPage } from './LoginPage';
import type { ProviderSummary } from '../api/get-sso-providers';

vi.mock('@simplewebauthn/browser', async (original) => ({
  ...(await original<typeof import('@simplewebauthn/browser')>()),
  browserSupportsWebAuthn: vi.fn(() => true),
  browserSupportsWebAuthnAutofill: vi.fn(() => Promise.resolve(false)),
}));
vi.mock('@/lib/auth', () => ({ acceptToken: vi.fn() }));
vi.mock('../api/get-sso-providers', () => ({ getSsoProviders: vi.fn() }));
vi.mock('../api/login', () => ({ login: vi.fn() }));

const { getSsoProviders } = vi.mocked(await import('../api/get-sso-providers'));
const { login } = vi.mocked(await import('../api/login'));

const providers: ProviderSummary[] = [
  { id: 'g', kind: 'google', display_name: 'Google' },
  { id: 'm', kind: 'microsoft', display_name: 'Office 365' },
  { id: 'o', kind: 'oidc', display_name: 'Acme SSO' },
];

describe('LoginPage', () => {
  beforeEach(() => {
    getSsoProviders.mockReset().mockResolvedValue(providers);
    login.mockReset();
    localStorage.clear();
    window.history.replaceState(null, '', '/login?site=acme');
  });

  it('the_sso_buttons_show_the_providers_mark_before_sign_in_with_its_name', async () => {
    render(<LoginPage />);
    const google = await screen.findByRole('button', { name: 'Sign in with Google' });
    expect(google.firstElementChild?.tagName.toLowerCase()).toBe('svg');
    expect(google.firstElementChild?.getAttribute('aria-hidden')).toBe('true');
    expect(google.textContent).toBe('Sign in with Google');
    const microsoft = screen.getByRole('button', { name: 'Sign in with Office 365' });
    expect(microsoft.firstElementChild?.tagName.toLowerCase()).toBe('svg');
    // A generic OpenID Connect application has no mark of its own.
    expect(screen.getByRole('button', { name: 'Sign in with Acme SSO' }).querySelector('svg')).toBeNull();
  });

  it('a_reader_of_chinese_gets_the_sign_in_page_in_chinese', async () => {
    await i18n.changeLanguage('zh-CN');
    render(<LoginPage />);
    expect(screen.getByRole('heading', { name: '登录 CloudCX' })).toBeTruthy();
    expect(screen.getByLabelText('站点')).toBeTruthy();
    expect(screen.getByText('您的 CloudCX 站点名称，例如 acme')).toBeTruthy();
    expect(screen.getByLabelText('电子邮箱')).toBeTruthy();
    expect(screen.getByLabelText('密码')).toBeTruthy();
    expect(screen.getByRole('link', { name: '忘记密码？' })).toBeTruthy();
    expect(screen.getByRole('button', { name: '登录' })).toBeTruthy();
    expect(screen.getByRole('button', { name: '使用通行密钥登录' })).toBeTruthy();
    const google = await screen.findByRole('button', { name: '使用 Google 登录' });
    expect(google.querySelector('svg.provider-mark')).toBeTruthy();
    expect(screen.getByRole('button', { name: '使用 Office 365 登录' })).toBeTruthy();
    expect(screen.queryByText(/Sign in/)).toBeNull();
  });

  it('a_refused_sign_in_is_explained_in_chinese', async () => {
    login.mockRejectedValue(new ApiProblem({ type: 'about:blank', title: 'x', status: 401, detail: 'wrong', code: 'invalid_credentials' }));
    await i18n.changeLanguage('zh-CN');
    render(<LoginPage />);
    await userEvent.type(screen.getByLabelText('电子邮箱'), 'ana@acme.test');
    await userEvent.type(screen.getByLabelText('密码'), 'not the password');
    await userEvent.click(screen.getByRole('button', { name: '登录' }));
    expect((await screen.findByRole('alert')).textContent).toBe('站点、电子邮箱或密码不正确。');
  });

  it('the_link_notice_names_the_provider_and_the_address_in_chinese', async () => {
    await i18n.changeLanguage('zh-CN');
    window.history.replaceState({ link: { token: 'lt', provider: 'Google', email: 'ana@gmail.test', returnTo: null } }, '', '/login?site=acme');
    render(<LoginPage />);
    const notice = screen.getByRole('status');
    expect(notice.textContent).toContain('登录后，即可将您的 Google 账号 ana@gmail.test 关联到您的 CloudCX 账号。');
    expect(within(notice).getByRole('button', { name: '不关联' })).toBeTruthy();
  });
});
