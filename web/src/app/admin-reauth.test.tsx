// Every admin change needs a sign-in within 10 minutes: on 403 `reauth_required` the admin pages
// open the re-authentication dialog (the one the Security pages use) and, once the password is
// confirmed, run the same change again; cancelling the dialog changes nothing and shows no error.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { ReauthProvider } from '@/features/auth/components/ReauthProvider';
import { MeContext } from '@/lib/me';
import { ApiProblem } from '@/lib/problem';
import type { User } from '@/features/admin/api/users';
import { SettingsPanel } from '@/features/admin/components/SettingsPanel';
import { SsoAppsPanel } from '@/features/admin/components/SsoAppsPanel';
import { UsersPanel } from '@/features/admin/components/UsersPanel';

vi.mock('@/features/admin/api/users', () => ({
  listUsers: vi.fn(),
  createUser: vi.fn(),
  resetTwoFactor: vi.fn(),
  updateUser: vi.fn(),
  unlockUser: vi.fn(),
  sendResetLink: vi.fn(),
  deleteUser: vi.fn(),
}));
vi.mock('@/features/admin/api/settings', () => ({ getSettings: vi.fn(), patchSettings: vi.fn() }));
vi.mock('@/features/admin/api/sso-providers', () => ({
  listProviders: vi.fn(),
  createProvider: vi.fn(),
  patchProvider: vi.fn(),
  deleteProvider: vi.fn(),
  testProvider: vi.fn(),
}));
vi.mock('@/features/auth/api/get-2fa-method', () => ({ get2faMethod: vi.fn() }));
vi.mock('@/features/auth/api/reauth', () => ({ reauth: vi.fn() }));
vi.mock('@/features/auth/api/reauth-email-code', () => ({ sendReauthEmailCode: vi.fn() }));

const users = vi.mocked(await import('@/features/admin/api/users'));
const settings = vi.mocked(await import('@/features/admin/api/settings'));
const sso = vi.mocked(await import('@/features/admin/api/sso-providers'));
const { get2faMethod } = vi.mocked(await import('@/features/auth/api/get-2fa-method'));
const { reauth } = vi.mocked(await import('@/features/auth/api/reauth'));

const stale = () => new ApiProblem({ type: 'about:blank', title: 'Re-authentication required', status: 403, detail: '', code: 'reauth_required' });

const agent: User = {
  id: 'u2',
  email: 'bob@acme.test',
  display_name: 'Bob Agent',
  role: 'agent',
  disabled: false,
  locked: false,
  two_factor: { enabled: true, method: 'totp' },
  created_at: '2026-11-01T10:00:00Z',
  last_sign_in_at: null,
};

function renderAsAdmin(panel: ReactNode) {
  render(
    <MeContext.Provider
      value={{
        me: { id: 'u1', email: 'ada@acme.test', display_name: 'Ada', role: 'admin', tenant: { id: 't', slug: 'acme', name: 'Acme' }, mfa_setup_required: false },
        loading: false,
        error: null,
        reload: () => {},
      }}
    >
      <ReauthProvider>{panel}</ReauthProvider>
    </MeContext.Provider>,
  );
}

/** The dialog is up: confirm the password. */
async function confirmPassword() {
  const dialog = await screen.findByRole('dialog', { name: "Confirm it's you" });
  await userEvent.type(within(dialog).getByLabelText('Password'), 'admin-password');
  await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm' }));
  await waitFor(() => expect(screen.queryByRole('dialog', { name: "Confirm it's you" })).toBeNull());
  expect(reauth).toHaveBeenCalledWith({ password: 'admin-password' });
}

const siteDefaults = {
  passkeys_enabled: true,
  remember_device: true,
  remember_device_days: 30,
  remembered_device_acr: 'aal2' as const,
};

describe('admin changes with a sign-in older than 10 minutes', () => {
  beforeEach(() => {
    [users, settings, sso].forEach((m) => Object.values(m).forEach((f) => f.mockReset()));
    get2faMethod.mockReset().mockResolvedValue(null);
    reauth.mockReset().mockResolvedValue(undefined);
  });

  it('adds a user after the password is confirmed', async () => {
    users.listUsers.mockResolvedValue([]);
    users.createUser.mockRejectedValueOnce(stale()).mockResolvedValueOnce({ ...agent, two_factor: { enabled: false, method: null } });
    renderAsAdmin(<UsersPanel />);
    await userEvent.click(await screen.findByRole('button', { name: 'Add user' }));
    const add = screen.getByRole('dialog', { name: 'Add user' });
    await userEvent.type(within(add).getByLabelText('E-mail'), 'bob@acme.test');
    await userEvent.type(within(add).getByLabelText('Name'), 'Bob Agent');
    await userEvent.type(within(add).getByLabelText(/Initial password/), 'Bob-Secret-Pass-42');
    await userEvent.click(within(add).getByRole('button', { name: 'Add user' }));
    await confirmPassword();
    expect(await screen.findByText('bob@acme.test was added.')).toBeTruthy();
    expect(users.createUser).toHaveBeenCalledTimes(2);
    expect(users.createUser.mock.calls[1]).toEqual(users.createUser.mock.calls[0]);
  });

  it("resets a user's 2FA after the password is confirmed", async () => {
    users.listUsers.mockResolvedValue([agent]);
    users.resetTwoFactor.mockRejectedValueOnce(stale()).mockResolvedValueOnce(undefined);
    renderAsAdmin(<UsersPanel />);
    await userEvent.click(await screen.findByRole('button', { name: 'Reset 2FA of bob@acme.test' }));
    const dialog = screen.getByRole('dialog', { name: 'Reset 2FA of Bob Agent' });
    await userEvent.type(within(dialog).getByLabelText('Reason'), 'lost phone');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Reset 2FA' }));
    await confirmPassword();
    expect(await screen.findByText(/Two-factor authentication of bob@acme.test was reset/)).toBeTruthy();
    expect(users.resetTwoFactor).toHaveBeenCalledTimes(2);
    expect(users.resetTwoFactor).toHaveBeenLastCalledWith('u2', { reason: 'lost phone', ticket: null });
  });

  it('changes the site settings after the password is confirmed', async () => {
    settings.getSettings.mockResolvedValue({ ...siteDefaults, require_2fa: false });
    settings.patchSettings.mockRejectedValueOnce(stale()).mockResolvedValueOnce({ ...siteDefaults, require_2fa: true });
    renderAsAdmin(<SettingsPanel />);
    await userEvent.click(await screen.findByLabelText('Require 2FA for everyone'));
    await confirmPassword();
    await waitFor(() => expect((screen.getByLabelText('Require 2FA for everyone') as HTMLInputElement).checked).toBe(true));
    expect(settings.patchSettings).toHaveBeenCalledTimes(2);
    expect(screen.queryByRole('alert')?.textContent ?? '').toBe('');
  });

  it('disables an SSO application after the password is confirmed', async () => {
    const app = {
      id: 'p1',
      kind: 'google' as const,
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
    };
    sso.listProviders.mockResolvedValueOnce([app]).mockResolvedValue([{ ...app, enabled: false }]);
    sso.patchProvider.mockRejectedValueOnce(stale()).mockResolvedValueOnce({ ...app, enabled: false });
    renderAsAdmin(<SsoAppsPanel />);
    await userEvent.click(await screen.findByRole('button', { name: 'Disable' }));
    await confirmPassword();
    await screen.findByRole('button', { name: 'Enable' });
    expect(sso.patchProvider).toHaveBeenCalledTimes(2);
    expect(sso.patchProvider).toHaveBeenLastCalledWith('p1', { enabled: false });
  });

  it('changes nothing and shows no error when the dialog is cancelled', async () => {
    settings.getSettings.mockResolvedValue({ ...siteDefaults, require_2fa: false });
    settings.patchSettings.mockRejectedValue(stale());
    renderAsAdmin(<SettingsPanel />);
    await userEvent.click(await screen.findByLabelText('Require 2FA for everyone'));
    const dialog = await screen.findByRole('dialog', { name: "Confirm it's you" });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(settings.patchSettings).toHaveBeenCalledTimes(1);
    expect((screen.getByLabelText('Require 2FA for everyone') as HTMLInputElement).checked).toBe(false);
    expect(reauth).not.toHaveBeenCalled();
    expect(screen.queryByRole('alert')?.textContent ?? '').toBe('');
  });
});
