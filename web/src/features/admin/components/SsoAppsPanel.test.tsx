import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ReauthContext } from '@/lib/reauth';
import type { ProviderView } from '../api/sso-providers';
import { inDisplayOrder, SsoAppsPanel } from './SsoAppsPanel';

vi.mock('../api/sso-providers', () => ({
  listProviders: vi.fn(),
  createProvider: vi.fn(),
  patchProvider: vi.fn(),
  deleteProvider: vi.fn(),
  testProvider: vi.fn(),
}));
const sso = vi.mocked(await import('../api/sso-providers'));

const app = (over: Partial<ProviderView>): ProviderView => ({
  id: 'p1',
  kind: 'google',
  display_name: 'Google',
  client_id: 'cid',
  issuer: 'https://accounts.google.com',
  microsoft_tenant: null,
  allowed_tenants: [],
  trust_idp_mfa: false,
  enabled: true,
  redirect_uri: 'http://localhost/api/v1/auth/sso/callback',
  created_at: '2026-11-01T10:00:00Z',
  updated_at: '2026-11-01T10:00:00Z',
  ...over,
});

describe('inDisplayOrder', () => {
  it('orders_by_name_ignoring_case_then_by_id', () => {
    const list = [
      { id: 'c', display_name: 'okta' },
      { id: 'b', display_name: 'Office 365' },
      { id: 'z', display_name: 'Google' },
      { id: 'a', display_name: 'google' },
    ];
    expect(inDisplayOrder(list).map((p) => p.id)).toEqual(['a', 'z', 'b', 'c']);
    expect(list.map((p) => p.id)).toEqual(['c', 'b', 'z', 'a']); // the answer itself is left alone
  });
});

describe('SsoAppsPanel', () => {
  beforeEach(() => {
    Object.values(sso).forEach((f) => f.mockReset());
  });

  it('lists_the_applications_in_the_same_order_whatever_order_the_server_answered_in', async () => {
    const google = app({ id: 'p2' });
    const office = app({ id: 'p1', kind: 'microsoft', display_name: 'Office 365', issuer: 'https://login.microsoftonline.com' });
    sso.listProviders.mockResolvedValueOnce([office, google]).mockResolvedValue([google, { ...office, enabled: false }]);
    sso.patchProvider.mockResolvedValueOnce({ ...office, enabled: false });
    render(
      <ReauthContext.Provider value={() => Promise.resolve()}>
        <SsoAppsPanel />
      </ReauthContext.Provider>,
    );
    const names = () => screen.getAllByRole('heading', { level: 3 }).map((h) => h.textContent);
    await waitFor(() => expect(names()).toEqual(['Google Enabled', 'Office 365 Enabled']));
    expect(screen.getAllByRole('listitem')[1]!.textContent).toContain('Microsoft (Office 365) · https://login.microsoftonline.com');
    // Disabling reloads the list, which the server now answers the other way round.
    await userEvent.click(within(screen.getAllByRole('listitem')[1]!).getByRole('button', { name: 'Disable' }));
    await waitFor(() => expect(names()).toEqual(['Google Enabled', 'Office 365 Disabled']));
  });
});
