import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MeContext, type Me } from '@/lib/me';
import { ReauthContext } from '@/lib/reauth';
import { SecurityRoute } from './SecurityRoute';

// Only the SSO card is under test here: the other cards stay out of the way.
vi.mock('@/features/security/components/TwoFactorCard', () => ({ TwoFactorCard: () => null }));
vi.mock('@/features/security/components/PasskeysCard', () => ({ PasskeysCard: () => null }));
vi.mock('@/features/security/components/ChangePasswordCard', () => ({ ChangePasswordCard: () => null }));
vi.mock('@/features/security/components/DevicesCard', () => ({ DevicesCard: () => null }));
vi.mock('@/features/sso/api/get-my-sso', () => ({ getMySso: vi.fn() }));
vi.mock('@/features/sso/api/disconnect-sso', () => ({ disconnectSso: vi.fn() }));
const getMySso = vi.mocked((await import('@/features/sso/api/get-my-sso')).getMySso);
const disconnectSso = vi.mocked((await import('@/features/sso/api/disconnect-sso')).disconnectSso);

const me = {
  id: 'u1',
  email: 'alice@example.com',
  display_name: 'Alice',
  role: 'agent',
  mfa_setup_required: false,
  tenant: { id: 't1', name: 'Acme', slug: 'acme' },
} as unknown as Me;

const provider = { id: 'p-google', display_name: 'Google', kind: 'google' as const };
const CONNECTED = 'Your Google account alice@example.com is connected.';

beforeEach(() => {
  vi.clearAllMocks();
});

describe('Security Settings after an SSO connect', () => {
  it('shows one current message: Disconnect replaces the banner the connect left', async () => {
    // SsoCompletePage comes back here with the message in the history entry.
    window.history.replaceState({ notice: CONNECTED }, '', '/settings/security');
    getMySso
      .mockResolvedValueOnce({
        providers: [provider],
        connections: [{ id: 'c1', provider_id: 'p-google', kind: 'google', email: 'alice@example.com', connected_at: '2026-12-01T10:00:00Z' }],
      })
      .mockResolvedValueOnce({ providers: [provider], connections: [] });
    disconnectSso.mockResolvedValue(undefined as never);
    render(
      <MeContext.Provider value={{ me, loading: false, error: null, reload: () => {} }}>
        <ReauthContext.Provider value={() => Promise.resolve()}>
          <SecurityRoute />
        </ReauthContext.Provider>
      </MeContext.Provider>,
    );
    expect(screen.getAllByText(CONNECTED)).toHaveLength(1);

    await userEvent.click(await screen.findByRole('button', { name: 'Disconnect Google' }));
    await screen.findByText('Your Google account is disconnected.');
    expect(screen.queryByText(CONNECTED)).toBeNull();
    expect(screen.getAllByText(/Your Google account .*connected\./)).toHaveLength(1);
  });
});
