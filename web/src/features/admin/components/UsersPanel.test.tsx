import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MeContext } from '@/lib/me';
import { ApiProblem } from '@/lib/problem';
import { ReauthContext } from '@/lib/reauth';
import type { User } from '../api/users';
import { userChanges, UsersPanel } from './UsersPanel';

vi.mock('../api/users', () => ({
  listUsers: vi.fn(),
  createUser: vi.fn(),
  resetTwoFactor: vi.fn(),
  updateUser: vi.fn(),
  unlockUser: vi.fn(),
  sendResetLink: vi.fn(),
  deleteUser: vi.fn(),
}));
const api = vi.mocked(await import('../api/users'));

const problem = (code: string, status: number) => new ApiProblem({ type: 'about:blank', title: 't', status, detail: '', code });

const user = (over: Partial<User> = {}): User => ({
  id: 'u2',
  email: 'bob@acme.test',
  display_name: 'Bob Agent',
  role: 'agent',
  disabled: false,
  locked: false,
  two_factor: { enabled: false, method: null },
  created_at: '2026-11-01T10:00:00Z',
  last_sign_in_at: null,
  ...over,
});
const me = user({ id: 'u1', email: 'ada@acme.test', display_name: 'Ada Admin', role: 'admin' });

function renderPanel() {
  render(
    <MeContext.Provider
      value={{
        me: { id: 'u1', email: me.email, display_name: me.display_name, role: 'admin', tenant: { id: 't', slug: 'acme', name: 'Acme' }, mfa_setup_required: false },
        loading: false,
        error: null,
        reload: () => {},
      }}
    >
      <ReauthContext.Provider value={() => Promise.resolve()}>
        <UsersPanel />
      </ReauthContext.Provider>
    </MeContext.Provider>,
  );
}

describe('userChanges', () => {
  it('sends only what changed', () => {
    const u = user();
    expect(userChanges(u, { display_name: 'Bob Agent', role: 'agent' })).toEqual({});
    expect(userChanges(u, { display_name: ' Robert ', role: 'agent' })).toEqual({ display_name: 'Robert' });
    expect(userChanges(u, { display_name: 'Bob Agent', role: 'admin' })).toEqual({ role: 'admin' });
  });
});

describe('UsersPanel actions', () => {
  beforeEach(() => {
    Object.values(api).forEach((f) => f.mockReset());
  });

  it('shows Unlock only for a locked user, and disables then enables', async () => {
    api.listUsers.mockResolvedValue([me, user({ locked: true })]);
    api.updateUser.mockResolvedValueOnce(user({ locked: true, disabled: true }));
    renderPanel();
    await screen.findByRole('button', { name: 'Unlock bob@acme.test' });
    expect(screen.queryByRole('button', { name: 'Unlock ada@acme.test' })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Disable bob@acme.test' }));
    expect(api.updateUser).toHaveBeenCalledWith('u2', { disabled: true });
    expect(await screen.findByText(/bob@acme.test was disabled/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Enable bob@acme.test' })).toBeTruthy();

    api.unlockUser.mockResolvedValueOnce(undefined);
    await userEvent.click(screen.getByRole('button', { name: 'Unlock bob@acme.test' }));
    expect(api.unlockUser).toHaveBeenCalledWith('u2');
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Unlock bob@acme.test' })).toBeNull());
  });

  it('says why an admin cannot disable themselves', async () => {
    api.listUsers.mockResolvedValue([me, user()]);
    api.updateUser.mockRejectedValueOnce(problem('self_action_forbidden', 409));
    renderPanel();
    await userEvent.click(await screen.findByRole('button', { name: 'Disable ada@acme.test' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Could not disable ada@acme.test: You cannot disable your own account, or the last admin of the site.',
    );
  });

  it('sends a reset link with a notice', async () => {
    api.listUsers.mockResolvedValue([user()]);
    api.sendResetLink.mockResolvedValueOnce(undefined);
    renderPanel();
    await userEvent.click(await screen.findByRole('button', { name: 'Send reset link to bob@acme.test' }));
    expect(api.sendResetLink).toHaveBeenCalledWith('u2');
    expect((await screen.findByRole('status')).textContent).toMatch(/reset link is on its way to bob@acme.test/);
  });

  it('deletes only after a confirmation that names the user', async () => {
    api.listUsers.mockResolvedValue([me, user()]);
    api.deleteUser.mockResolvedValueOnce(undefined);
    renderPanel();
    await userEvent.click(await screen.findByRole('button', { name: 'Delete bob@acme.test' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete Bob Agent?' });
    expect(dialog.textContent).toContain('bob@acme.test');
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(api.deleteUser).not.toHaveBeenCalled();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete user' }));
    expect(api.deleteUser).toHaveBeenCalledWith('u2');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(screen.queryByText('bob@acme.test', { selector: 'td' })).toBeNull();
  });

  it('edits name and role, and explains a refused self-demotion in the dialog', async () => {
    api.listUsers.mockResolvedValue([me]);
    api.updateUser.mockRejectedValueOnce(problem('self_action_forbidden', 409));
    renderPanel();
    await userEvent.click(await screen.findByRole('button', { name: 'Edit ada@acme.test' }));
    const dialog = screen.getByRole('dialog', { name: 'Edit Ada Admin' });
    await userEvent.selectOptions(within(dialog).getByLabelText('Role'), 'agent');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    expect(api.updateUser).toHaveBeenCalledWith('u1', { role: 'agent' });
    expect((await within(dialog).findByRole('alert')).textContent).toMatch(/admin role away from yourself/);
  });

  it('marks the signed-in admin as (you) and names roles, methods and states', async () => {
    api.listUsers.mockResolvedValue([
      { ...me, two_factor: { enabled: true, method: 'totp' } },
      user({ locked: true, two_factor: { enabled: true, method: 'email' } }),
    ]);
    renderPanel();
    await screen.findByText('bob@acme.test');
    const [adaRow, bobRow] = screen.getAllByRole('row').slice(1) as [HTMLElement, HTMLElement];
    const cell = (row: HTMLElement, label: string) => row.querySelector(`td[data-label="${label}"]`)?.textContent;
    expect(cell(adaRow, 'Name')).toBe('Ada Admin (you)');
    expect(cell(bobRow, 'Name')).toBe('Bob Agent');
    expect([cell(adaRow, 'Role'), cell(bobRow, 'Role')]).toEqual(['Admin', 'Agent']);
    expect([cell(adaRow, '2FA'), cell(bobRow, '2FA')]).toEqual(['Authenticator app', 'E-mail']);
    expect([cell(adaRow, 'Status'), cell(bobRow, 'Status')]).toEqual(['Active', 'Locked']);
  });
});
