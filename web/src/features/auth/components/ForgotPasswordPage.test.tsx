import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ForgotPasswordPage } from './ForgotPasswordPage';

vi.mock('../api/forgot-password', () => ({ forgotPassword: vi.fn() }));
const { forgotPassword } = await import('../api/forgot-password');
const forgot = vi.mocked(forgotPassword);

describe('ForgotPasswordPage', () => {
  beforeEach(() => {
    forgot.mockReset();
    localStorage.clear();
  });

  it('takes the site from the URL and the e-mail from the sign-in form, and always gives the same answer', async () => {
    forgot.mockResolvedValue(undefined);
    window.history.replaceState({ email: 'ana@acme.test' }, '', '/forgot-password?site=acme');
    render(<ForgotPasswordPage />);
    expect((screen.getByLabelText('Site') as HTMLInputElement).value).toBe('acme');
    expect((screen.getByLabelText('E-mail') as HTMLInputElement).value).toBe('ana@acme.test');
    await userEvent.click(screen.getByRole('button', { name: 'Send reset link' }));
    expect(forgot).toHaveBeenCalledWith({ tenant: 'acme', email: 'ana@acme.test' });
    expect((await screen.findByRole('status')).textContent).toContain('If the account exists, we sent a link to reset its password.');
    expect(document.activeElement).toBe(screen.getByRole('heading', { name: 'Check your e-mail' }));
    expect(screen.getByRole('link', { name: 'Back to sign in' }).getAttribute('href')).toBe('/login?site=acme');
  });

  it('needs both fields', async () => {
    window.history.replaceState(null, '', '/forgot-password');
    render(<ForgotPasswordPage />);
    const send = screen.getByRole('button', { name: 'Send reset link' }) as HTMLButtonElement;
    expect(send.disabled).toBe(true);
    await userEvent.type(screen.getByLabelText('Site'), 'acme');
    await userEvent.type(screen.getByLabelText('E-mail'), 'x@acme.test');
    expect(send.disabled).toBe(false);
  });
});
