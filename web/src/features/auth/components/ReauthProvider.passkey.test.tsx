// "Confirm it's you" with a passkey instead of the password.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { ApiProblem } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { ReauthProvider } from './ReauthProvider';

vi.mock('@simplewebauthn/browser', async (original) => ({
  ...(await original<typeof import('@simplewebauthn/browser')>()),
  browserSupportsWebAuthn: vi.fn(() => true),
  startAuthentication: vi.fn(),
}));
vi.mock('../api/get-2fa-method', () => ({ get2faMethod: vi.fn(() => Promise.resolve(null)) }));
vi.mock('../api/has-passkeys', () => ({ hasPasskeys: vi.fn() }));
vi.mock('../api/reauth', () => ({ reauth: vi.fn() }));
vi.mock('../api/reauth-email-code', () => ({ sendReauthEmailCode: vi.fn() }));
vi.mock('../api/reauth-passkey-options', () => ({ reauthPasskeyOptions: vi.fn() }));
vi.mock('../api/reauth-passkey', () => ({ reauthPasskey: vi.fn() }));

const webauthn = vi.mocked(await import('@simplewebauthn/browser'));
const { hasPasskeys } = vi.mocked(await import('../api/has-passkeys'));
const { reauth } = vi.mocked(await import('../api/reauth'));
const { reauthPasskeyOptions } = vi.mocked(await import('../api/reauth-passkey-options'));
const { reauthPasskey } = vi.mocked(await import('../api/reauth-passkey'));

const publicKey = { challenge: 'Y2hhbGxlbmdl', allowCredentials: [{ id: 'cred', type: 'public-key' as const }] };
const assertion = {
  id: 'cred',
  rawId: 'cred',
  type: 'public-key' as const,
  response: { clientDataJSON: 'e30', authenticatorData: 'YQ', signature: 'c2ln' },
  clientExtensionResults: {},
};

/** A sensitive action that is stale the first time. */
function Sensitive({ action }: { action: () => Promise<void> }) {
  const sensitive = useSensitive();
  const [done, setDone] = useState(false);
  return (
    <button type="button" onClick={() => void sensitive(action).then(() => setDone(true), () => undefined)}>
      {done ? 'Done' : 'Do it'}
    </button>
  );
}

function stale() {
  let first = true;
  return vi.fn(async () => {
    if (first) {
      first = false;
      throw new ApiProblem({ type: 'about:blank', title: 'x', status: 403, detail: '', code: 'reauth_required' });
    }
  });
}

describe('ReauthProvider with a passkey', () => {
  beforeEach(() => {
    for (const m of [hasPasskeys, reauth, reauthPasskeyOptions, reauthPasskey, webauthn.startAuthentication]) m.mockReset();
    webauthn.browserSupportsWebAuthn.mockReturnValue(true);
  });

  it('confirms with a passkey and runs the action again', async () => {
    hasPasskeys.mockResolvedValue(true);
    reauthPasskeyOptions.mockResolvedValue({ challengeId: 'r1', publicKey });
    webauthn.startAuthentication.mockResolvedValue(assertion);
    reauthPasskey.mockResolvedValue(undefined);
    const action = stale();
    render(
      <ReauthProvider>
        <Sensitive action={action} />
      </ReauthProvider>,
    );
    await userEvent.click(screen.getByRole('button', { name: 'Do it' }));
    const dialog = await screen.findByRole('dialog', { name: "Confirm it's you" });
    await userEvent.click(await within(dialog).findByRole('button', { name: 'Use a passkey' }));
    expect(webauthn.startAuthentication).toHaveBeenCalledWith({ optionsJSON: publicKey });
    expect(reauthPasskey).toHaveBeenCalledWith('r1', assertion);
    expect(await screen.findByRole('button', { name: 'Done' })).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(action).toHaveBeenCalledTimes(2);
    expect(reauth).not.toHaveBeenCalled();
  });

  it('says a refused passkey and keeps the password way open', async () => {
    hasPasskeys.mockResolvedValue(true);
    reauthPasskeyOptions.mockResolvedValue({ challengeId: 'r1', publicKey });
    webauthn.startAuthentication.mockResolvedValue(assertion);
    reauthPasskey.mockRejectedValue(new ApiProblem({ type: 'about:blank', title: 'x', status: 403, detail: '', code: 'invalid_credentials' }));
    render(
      <ReauthProvider>
        <Sensitive action={stale()} />
      </ReauthProvider>,
    );
    await userEvent.click(screen.getByRole('button', { name: 'Do it' }));
    const dialog = await screen.findByRole('dialog', { name: "Confirm it's you" });
    await userEvent.click(await within(dialog).findByRole('button', { name: 'Use a passkey' }));
    expect((await within(dialog).findByRole('alert')).textContent).toMatch(/That passkey was not accepted/);
    expect(within(dialog).getByLabelText('Password')).toBeTruthy();
  });

  it('offers no passkey to a user without one', async () => {
    hasPasskeys.mockResolvedValue(false);
    render(
      <ReauthProvider>
        <Sensitive action={stale()} />
      </ReauthProvider>,
    );
    await userEvent.click(screen.getByRole('button', { name: 'Do it' }));
    const dialog = await screen.findByRole('dialog', { name: "Confirm it's you" });
    await waitFor(() => expect(hasPasskeys).toHaveBeenCalled());
    await new Promise((r) => setTimeout(r, 20));
    expect(within(dialog).queryByRole('button', { name: 'Use a passkey' })).toBeNull();
  });
});
