import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import i18n from '@/lib/i18n';
import { ReauthContext } from '@/lib/reauth';
import type { MySso } from '../api/get-my-sso';
import { SsoCard } from './SsoCard';

vi.mock('../api/get-my-sso', () => ({ getMySso: vi.fn() }));
vi.mock('../api/connect-sso', () => ({ connectSso: vi.fn() }));
vi.mock('../api/disconnect-sso', () => ({ disconnectSso: vi.fn() }));
const getMySso = vi.mocked((await import('../api/get-my-sso')).getMySso);
const disconnectSso = vi.mocked((await import('../api/disconnect-sso')).disconnectSso);

const providers: MySso['providers'] = [
  { id: 'p-google', display_name: 'Google', kind: 'google' },
  { id: 'p-ms', display_name: 'Microsoft', kind: 'microsoft' },
  { id: 'p-oidc', display_name: 'Office 365', kind: 'oidc' },
];
const connected: MySso = {
  providers,
  connections: [{ id: 'c1', provider_id: 'p-google', kind: 'google', email: 'alice@example.com', connected_at: '2026-12-01T10:00:00Z' }],
};
const none: MySso = { providers, connections: [] };

const CONNECTED = 'Your Google account alice@example.com is connected.';

function renderCard(notice: string | null = null) {
  render(
    <ReauthContext.Provider value={() => Promise.resolve()}>
      <SsoCard notice={notice} />
    </ReauthContext.Provider>,
  );
}

beforeEach(() => {
  vi.clearAllMocks();
  window.history.replaceState(null, '');
});

describe('SsoCard', () => {
  it('shows one message only: after connecting, then Disconnect, the disconnect replaces the connect banner', async () => {
    // The return from the provider left its message in the history entry (SsoCompletePage).
    window.history.replaceState({ notice: CONNECTED }, '');
    getMySso.mockResolvedValueOnce(connected).mockResolvedValueOnce(none);
    disconnectSso.mockResolvedValue(undefined as never);
    renderCard(CONNECTED);
    expect(screen.getByText(CONNECTED)).toBeTruthy();
    await screen.findByText('alice@example.com');

    await userEvent.click(screen.getByRole('button', { name: 'Disconnect Google' }));
    await screen.findByText('Your Google account is disconnected.');
    expect(screen.queryByText(CONNECTED)).toBeNull();
    expect(screen.getAllByRole('status').filter((el) => /account/.test(el.textContent ?? ''))).toHaveLength(1);
    // A reload does not bring the old banner back.
    expect((window.history.state as { notice?: string } | null)?.notice).toBeUndefined();
    await waitFor(() => expect(screen.getByRole('button', { name: 'Connect Google' })).toBeTruthy());
  });

  it("puts the provider's mark before the text of each Connect button", async () => {
    getMySso.mockResolvedValue(none);
    renderCard();
    const google = await screen.findByRole('button', { name: 'Connect Google' });
    const microsoft = screen.getByRole('button', { name: 'Connect Microsoft' });
    const oidc = screen.getByRole('button', { name: 'Connect Office 365' });
    for (const button of [google, microsoft]) {
      const mark = button.firstElementChild;
      expect(mark?.tagName.toLowerCase()).toBe('svg');
      expect(mark?.getAttribute('aria-hidden')).toBe('true');
      expect(button.textContent).toBe('Connect');
    }
    expect(google.querySelectorAll('path')).toHaveLength(4); // the four-colour G
    expect(microsoft.querySelectorAll('rect')).toHaveLength(4); // the four squares
    expect(oidc.querySelector('svg')).toBeNull(); // a generic OpenID Connect application has none
  });

  it('says so when the site has no application', async () => {
    getMySso.mockResolvedValue({ providers: [], connections: [] });
    renderCard();
    expect(await screen.findByText("You haven't added any application. Please contact your system admin.")).toBeTruthy();
  });

  it('is labelled in Chinese in zh-CN', async () => {
    await i18n.changeLanguage('zh-CN');
    getMySso.mockResolvedValueOnce(connected).mockResolvedValueOnce(none);
    disconnectSso.mockResolvedValue(undefined as never);
    renderCard();
    expect(await screen.findByRole('heading', { name: '单点登录（SSO）' })).toBeTruthy();
    const google = (await screen.findByRole('heading', { name: 'Google' })).closest('li')!;
    expect(within(google).getByText(/已关联/)).toBeTruthy();
    const ms = screen.getByRole('heading', { name: 'Microsoft' }).closest('li')!;
    expect(within(ms).getByText('未关联')).toBeTruthy();
    expect(within(ms).getByRole('button', { name: '关联 Microsoft' }).textContent).toBe('关联');
    await userEvent.click(within(google).getByRole('button', { name: '取消关联 Google' }));
    expect(await screen.findByText('您的 Google 账户已取消关联。')).toBeTruthy();
  });
});
