// "Sign in with a passkey" and the e-mail field's passkey autofill on the sign-in page.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiProblem } from '@/lib/problem';
import { LoginPage } from './LoginPage';

vi.mock('@simplewebauthn/browser', async (original) => ({
  ...(await original<typeof import('@simplewebauthn/browser')>()),
  browserSupportsWebAuthn: vi.fn(() => true),
  browserSupportsWebAuthnAutofill: vi.fn(() => Promise.resolve(false)),
  startAuthentication: vi.fn(),
  WebAuthnAbortService: { cancelCeremony: vi.fn(), createNewAbortSignal: vi.fn() },
}));
vi.mock('@/lib/auth', () => ({ acceptToken: vi.fn() }));
vi.mock('../api/get-sso-providers', () => ({ getSsoProviders: vi.fn(() => Promise.resolve([])) }));
vi.mock('../api/login', () => ({ login: vi.fn() }));
vi.mock('../api/passkey-login-options', () => ({ passkeyLoginOptions: vi.fn() }));
vi.mock('../api/passkey-login', () => ({ passkeyLogin: vi.fn() }));

const webauthn = vi.mocked(await import('@simplewebauthn/browser'));
const { acceptToken } = vi.mocked(await import('@/lib/auth'));
const { login } = vi.mocked(await import('../api/login'));
const { passkeyLoginOptions } = vi.mocked(await import('../api/passkey-login-options'));
const { passkeyLogin } = vi.mocked(await import('../api/passkey-login'));
const cancelCeremony = vi.mocked(webauthn.WebAuthnAbortService.cancelCeremony);

const publicKey = { challenge: 'Y2hhbGxlbmdl', rpId: 'localhost', allowCredentials: [], userVerification: 'required' as const };
const assertion = {
  id: 'cred',
  rawId: 'cred',
  type: 'public-key' as const,
  response: { clientDataJSON: 'e30', authenticatorData: 'YQ', signature: 'c2ln', userHandle: 'dXNlcg' },
  clientExtensionResults: {},
};
const authenticated = { status: 'authenticated' as const, access_token: 'at', token_type: 'Bearer', expires_in: 900 };

/** A promise that settles only when the test says so, like a browser waiting for the user. */
function pending<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('LoginPage with passkeys', () => {
  beforeEach(() => {
    for (const m of [acceptToken, login, passkeyLoginOptions, passkeyLogin, webauthn.startAuthentication, cancelCeremony]) {
      m.mockReset();
    }
    webauthn.browserSupportsWebAuthn.mockReturnValue(true);
    webauthn.browserSupportsWebAuthnAutofill.mockResolvedValue(false);
    localStorage.clear();
    window.history.replaceState(null, '', '/login?site=acme');
  });

  it('offers the passkey autofill on the e-mail field', () => {
    render(<LoginPage />);
    expect(screen.getByLabelText('E-mail').getAttribute('autocomplete')).toBe('username webauthn');
  });

  it('signs in with a passkey without an e-mail, like a password sign-in ends', async () => {
    passkeyLoginOptions.mockResolvedValue({ challengeId: 'ch1', publicKey });
    webauthn.startAuthentication.mockResolvedValue(assertion);
    passkeyLogin.mockResolvedValue(authenticated);
    render(<LoginPage />);
    await userEvent.click(screen.getByRole('button', { name: 'Sign in with a passkey' }));
    expect(passkeyLoginOptions).toHaveBeenCalledWith('acme');
    expect(webauthn.startAuthentication).toHaveBeenCalledWith({ optionsJSON: publicKey });
    expect(passkeyLogin).toHaveBeenCalledWith('acme', 'ch1', assertion);
    await waitFor(() => expect(acceptToken).toHaveBeenCalledWith('at', 900));
    expect(window.location.pathname).toBe('/settings/security');
    expect(localStorage.getItem('cx_site')).toBe('acme');
    expect(login).not.toHaveBeenCalled();
  });

  it('says a refused passkey in a sentence and stays', async () => {
    passkeyLoginOptions.mockResolvedValue({ challengeId: 'ch1', publicKey });
    webauthn.startAuthentication.mockResolvedValue(assertion);
    passkeyLogin.mockRejectedValue(new ApiProblem({ type: 'about:blank', title: 'x', status: 401, detail: '', code: 'invalid_credentials' }));
    render(<LoginPage />);
    await userEvent.click(screen.getByRole('button', { name: 'Sign in with a passkey' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/That passkey was not accepted/);
    expect(acceptToken).not.toHaveBeenCalled();
    expect(window.location.pathname).toBe('/login');
  });

  it('says nothing when the user closes the browser dialog… but something when it times out', async () => {
    passkeyLoginOptions.mockResolvedValue({ challengeId: 'ch1', publicKey });
    const { WebAuthnError } = await vi.importActual<typeof import('@simplewebauthn/browser')>('@simplewebauthn/browser');
    webauthn.startAuthentication
      .mockRejectedValueOnce(new WebAuthnError({ message: 'aborted', code: 'ERROR_CEREMONY_ABORTED', cause: new Error('x') }))
      .mockRejectedValueOnce(new WebAuthnError({ message: 'aborted', code: 'ERROR_CEREMONY_ABORTED', cause: new Error('x') }));
    render(<LoginPage />);
    await userEvent.click(screen.getByRole('button', { name: 'Sign in with a passkey' }));
    await waitFor(() => expect(webauthn.startAuthentication).toHaveBeenCalledTimes(2));
    expect(screen.queryByRole('alert')).toBeNull();

    webauthn.startAuthentication.mockRejectedValueOnce(Object.assign(new Error('timed out'), { name: 'NotAllowedError' }));
    await userEvent.click(screen.getByRole('button', { name: 'Sign in with a passkey' }));
    expect((await screen.findByRole('alert')).textContent).toBe('The passkey request was cancelled or timed out. Please try again.');
  });

  it('tells a site that turned passkeys off', async () => {
    passkeyLoginOptions.mockRejectedValue(new ApiProblem({ type: 'about:blank', title: 'x', status: 403, detail: '', code: 'passkeys_disabled' }));
    render(<LoginPage />);
    await userEvent.click(screen.getByRole('button', { name: 'Sign in with a passkey' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Your site has turned passkeys off.');
    expect(webauthn.startAuthentication).not.toHaveBeenCalled();
  });

  it('needs the site, and is not offered without WebAuthn', () => {
    window.history.replaceState(null, '', '/login');
    const { unmount } = render(<LoginPage />);
    expect((screen.getByRole('button', { name: 'Sign in with a passkey' }) as HTMLButtonElement).disabled).toBe(true);
    unmount();
    webauthn.browserSupportsWebAuthn.mockReturnValue(false);
    render(<LoginPage />);
    expect(screen.queryByRole('button', { name: 'Sign in with a passkey' })).toBeNull();
  });

  it('signs in with a passkey picked from the autofill', async () => {
    webauthn.browserSupportsWebAuthnAutofill.mockResolvedValue(true);
    passkeyLoginOptions.mockResolvedValue({ challengeId: 'auto', publicKey });
    const picked = pending<typeof assertion>();
    webauthn.startAuthentication.mockReturnValue(picked.promise);
    passkeyLogin.mockResolvedValue(authenticated);
    render(<LoginPage />);
    await waitFor(() => expect(webauthn.startAuthentication).toHaveBeenCalledWith({ optionsJSON: publicKey, useBrowserAutofill: true }));
    expect(passkeyLoginOptions).toHaveBeenCalledWith('acme', expect.any(AbortSignal));
    picked.resolve(assertion);
    await waitFor(() => expect(acceptToken).toHaveBeenCalledWith('at', 900));
    expect(passkeyLogin).toHaveBeenCalledWith('acme', 'auto', assertion);
  });

  it('ends the waiting autofill when the user signs in with the password, quietly', async () => {
    webauthn.browserSupportsWebAuthnAutofill.mockResolvedValue(true);
    passkeyLoginOptions.mockResolvedValue({ challengeId: 'auto', publicKey });
    const waiting = pending<typeof assertion>();
    webauthn.startAuthentication.mockReturnValue(waiting.promise);
    cancelCeremony.mockImplementation(() => {
      const abort = Object.assign(new Error('Manually cancelling'), { name: 'AbortError' });
      waiting.reject(abort);
    });
    login.mockResolvedValue(authenticated);
    render(<LoginPage />);
    await waitFor(() => expect(webauthn.startAuthentication).toHaveBeenCalled());
    await userEvent.type(screen.getByLabelText('E-mail'), 'ana@acme.test');
    await userEvent.type(screen.getByLabelText('Password'), 'a long password');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(cancelCeremony).toHaveBeenCalledOnce();
    await waitFor(() => expect(acceptToken).toHaveBeenCalledWith('at', 900));
    expect(passkeyLogin).not.toHaveBeenCalled();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('offers the autofill again after a wrong password', async () => {
    webauthn.browserSupportsWebAuthnAutofill.mockResolvedValue(true);
    passkeyLoginOptions.mockResolvedValue({ challengeId: 'auto', publicKey });
    const waiting = pending<typeof assertion>();
    webauthn.startAuthentication.mockReturnValueOnce(waiting.promise).mockReturnValue(pending<typeof assertion>().promise);
    cancelCeremony.mockImplementation(() => waiting.reject(Object.assign(new Error('cancel'), { name: 'AbortError' })));
    login.mockRejectedValue(new ApiProblem({ type: 'about:blank', title: 'x', status: 401, detail: '', code: 'invalid_credentials' }));
    render(<LoginPage />);
    await waitFor(() => expect(webauthn.startAuthentication).toHaveBeenCalledTimes(1));
    await userEvent.type(screen.getByLabelText('E-mail'), 'ana@acme.test');
    await userEvent.type(screen.getByLabelText('Password'), 'a wrong password');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(cancelCeremony).toHaveBeenCalledOnce();
    expect((await screen.findByRole('alert')).textContent).toBe('The site, e-mail or password is not correct.');
    await waitFor(() => expect(webauthn.startAuthentication).toHaveBeenCalledTimes(2));
    expect(webauthn.startAuthentication).toHaveBeenLastCalledWith({ optionsJSON: publicKey, useBrowserAutofill: true });
  });

  it('offers the autofill again after a refused passkey, but not in an endless loop', async () => {
    webauthn.browserSupportsWebAuthnAutofill.mockResolvedValue(true);
    passkeyLoginOptions.mockResolvedValue({ challengeId: 'auto', publicKey });
    // An authenticator that answers by itself with a passkey the server no longer knows.
    webauthn.startAuthentication.mockResolvedValue(assertion);
    passkeyLogin.mockRejectedValue(new ApiProblem({ type: 'about:blank', title: 'x', status: 401, detail: '', code: 'invalid_credentials' }));
    render(<LoginPage />);
    expect((await screen.findByRole('alert')).textContent).toMatch(/That passkey was not accepted/);
    await waitFor(() => expect(passkeyLogin).toHaveBeenCalledTimes(3), { timeout: 3000 });
    await new Promise((r) => setTimeout(r, 600));
    expect(passkeyLogin).toHaveBeenCalledTimes(3);
    expect(acceptToken).not.toHaveBeenCalled();
  });

  it('offers no passkey on a site that turned them off, as the autofill learns', async () => {
    webauthn.browserSupportsWebAuthnAutofill.mockResolvedValue(true);
    passkeyLoginOptions.mockRejectedValue(new ApiProblem({ type: 'about:blank', title: 'x', status: 403, detail: '', code: 'passkeys_disabled' }));
    render(<LoginPage />);
    expect(screen.getByRole('button', { name: 'Sign in with a passkey' })).toBeTruthy();
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Sign in with a passkey' })).toBeNull());
    expect(screen.queryByRole('alert')).toBeNull();
    expect(passkeyLoginOptions).toHaveBeenCalledOnce();
    // Another site: offered again.
    await userEvent.clear(screen.getByLabelText('Site'));
    await userEvent.type(screen.getByLabelText('Site'), 'globex');
    expect(screen.getByRole('button', { name: 'Sign in with a passkey' })).toBeTruthy();
  });

  it('stays quiet when the autofill cannot start (no passkeys for the site, throttled)', async () => {
    webauthn.browserSupportsWebAuthnAutofill.mockResolvedValue(true);
    passkeyLoginOptions.mockRejectedValue(new ApiProblem({ type: 'about:blank', title: 'x', status: 429, detail: '', code: 'too_many_attempts' }));
    render(<LoginPage />);
    await waitFor(() => expect(passkeyLoginOptions).toHaveBeenCalled());
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.queryByRole('alert')).toBeNull();
    expect(webauthn.startAuthentication).not.toHaveBeenCalled();
  });
});
