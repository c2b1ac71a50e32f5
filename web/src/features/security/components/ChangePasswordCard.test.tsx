import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiProblem } from '@/lib/problem';
import { ReauthContext } from '@/lib/reauth';
import { ChangePasswordCard } from './ChangePasswordCard';

const PASSWORD_CHANGED = 'Your password was changed. Your other devices were signed out.';

vi.mock('../api/change-password', () => ({ changePassword: vi.fn() }));
const { changePassword } = await import('../api/change-password');
const change = vi.mocked(changePassword);

const problem = (code: string, status: number) => new ApiProblem({ type: 'about:blank', title: 't', status, detail: '', code });

function setup(ask = vi.fn(() => Promise.resolve())) {
  const onChanged = vi.fn();
  render(
    <ReauthContext.Provider value={ask}>
      <ChangePasswordCard onChanged={onChanged} />
    </ReauthContext.Provider>,
  );
  return { ask, onChanged };
}

async function fill(current: string, password: string, repeat: string) {
  await userEvent.type(screen.getByLabelText('Current password'), current);
  await userEvent.type(screen.getByLabelText('New password'), password);
  await userEvent.type(screen.getByLabelText('Repeat new password'), repeat);
  await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
}

describe('ChangePasswordCard', () => {
  beforeEach(() => change.mockReset());

  it('asks to re-authenticate on reauth_required, retries, and says the other devices were signed out', async () => {
    change.mockRejectedValueOnce(problem('reauth_required', 403)).mockResolvedValueOnce(undefined);
    const { ask, onChanged } = setup();
    await fill('old password', 'brand new password', 'brand new password');
    await screen.findByText(PASSWORD_CHANGED);
    expect(ask).toHaveBeenCalledOnce();
    expect(change).toHaveBeenCalledTimes(2);
    expect(change).toHaveBeenLastCalledWith('old password', 'brand new password');
    expect(onChanged).toHaveBeenCalledOnce();
    expect((screen.getByLabelText('Current password') as HTMLInputElement).value).toBe('');
  });

  it('checks the repetition before sending', async () => {
    setup();
    await fill('old password', 'brand new password', 'brand new passwordd');
    expect(change).not.toHaveBeenCalled();
    expect(screen.getByText('The two passwords do not match.')).toBeTruthy();
  });

  it('marks a wrong current password and a weak new one on their fields', async () => {
    change.mockRejectedValueOnce(problem('invalid_credentials', 403));
    setup();
    await fill('wrong', 'brand new password', 'brand new password');
    expect(await screen.findByText('Your current password is not correct.')).toBeTruthy();
    expect(screen.getByLabelText('Current password').getAttribute('aria-invalid')).toBe('true');

    change.mockRejectedValueOnce(problem('weak_password', 422));
    await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
    await waitFor(() => expect(screen.getByLabelText('New password').getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByText(/too weak/)).toBeTruthy();
  });

  it('shows nothing when the re-authentication is cancelled', async () => {
    const { ReauthCancelled } = await import('@/lib/reauth');
    change.mockRejectedValueOnce(problem('reauth_required', 403));
    setup(vi.fn(() => Promise.reject(new ReauthCancelled())));
    await fill('old password', 'brand new password', 'brand new password');
    await waitFor(() => expect((screen.getByRole('button', { name: 'Change password' }) as HTMLButtonElement).disabled).toBe(false));
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.queryByText(PASSWORD_CHANGED)).toBeNull();
  });
});
