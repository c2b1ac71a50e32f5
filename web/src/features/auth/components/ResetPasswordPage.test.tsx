import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiProblem } from '@/lib/problem';
import { readResetToken, ResetPasswordPage } from './ResetPasswordPage';

vi.mock('../api/reset-password', () => ({ resetPassword: vi.fn() }));
const { resetPassword } = await import('../api/reset-password');
const reset = vi.mocked(resetPassword);

const problem = (code: string, status: number) => new ApiProblem({ type: 'about:blank', title: 't', status, detail: '', code });

async function fill(password: string, repeat: string) {
  await userEvent.type(screen.getByLabelText('New password'), password);
  await userEvent.type(screen.getByLabelText('Repeat new password'), repeat);
  await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
}

describe('readResetToken', () => {
  it('takes ?token= first, else the token kept in history state', () => {
    expect(readResetToken(new URLSearchParams('token=abc'), null)).toBe('abc');
    expect(readResetToken(new URLSearchParams('token=abc'), { resetToken: 'old' })).toBe('abc');
    expect(readResetToken(new URLSearchParams(''), { resetToken: 'kept' })).toBe('kept');
    expect(readResetToken(new URLSearchParams('token='), null)).toBeNull();
    expect(readResetToken(new URLSearchParams(''), { resetToken: 42 })).toBeNull();
  });
});

describe('ResetPasswordPage', () => {
  beforeEach(() => {
    reset.mockReset();
    window.history.replaceState(null, '', '/reset-password?token=tok-123');
  });

  it('reads the token from the URL, then takes it out of the address bar', async () => {
    reset.mockResolvedValue(undefined);
    render(<ResetPasswordPage />);
    await waitFor(() => expect(window.location.search).toBe(''));
    expect(window.location.pathname).toBe('/reset-password');
    expect((window.history.state as { resetToken?: string }).resetToken).toBe('tok-123');
    await fill('a new long password', 'a new long password');
    expect(reset).toHaveBeenCalledWith('tok-123', 'a new long password');
    expect(await screen.findByText('Your password was changed. Sign in with it.')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Sign in' }).getAttribute('href')).toBe('/login');
  });

  it('does not send two passwords that differ', async () => {
    render(<ResetPasswordPage />);
    await fill('a new long password', 'a new long passwort');
    expect(reset).not.toHaveBeenCalled();
    const repeat = screen.getByLabelText('Repeat new password');
    expect(repeat.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('The two passwords do not match.')).toBeTruthy();
  });

  it("shows the server's weak_password under the new password", async () => {
    reset.mockRejectedValue(problem('weak_password', 422));
    render(<ResetPasswordPage />);
    await fill('password1', 'password1');
    const field = screen.getByLabelText('New password');
    await waitFor(() => expect(field.getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByText(/too weak/).id).toBe(field.getAttribute('aria-describedby')?.split(' ')[1]);
  });

  it('explains a used or expired link and offers a new one', async () => {
    reset.mockRejectedValue(problem('invalid_code', 401));
    render(<ResetPasswordPage />);
    await fill('a new long password', 'a new long password');
    expect((await screen.findByRole('alert')).textContent).toMatch(/already used, it expired/);
    expect(screen.getAllByRole('link', { name: 'Ask for a new link' })[0]!.getAttribute('href')).toBe('/forgot-password');
  });

  it('says so when the link has no token', () => {
    window.history.replaceState(null, '', '/reset-password');
    render(<ResetPasswordPage />);
    expect(screen.getByRole('alert').textContent).toMatch(/link is incomplete/);
    expect(screen.queryByLabelText('New password')).toBeNull();
  });
});
