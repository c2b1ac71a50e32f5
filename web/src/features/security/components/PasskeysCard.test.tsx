import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ReauthContext } from '@/lib/reauth';
import { ApiProblem } from '@/lib/problem';
import type { Passkey } from '../api/list-passkeys';
import { PasskeysCard } from './PasskeysCard';

const PASSKEYS_OFF = "Your site has turned passkeys off: they can't be added or used to sign in for now.";

vi.mock('@simplewebauthn/browser', async (original) => ({
  ...(await original<typeof import('@simplewebauthn/browser')>()),
  browserSupportsWebAuthn: vi.fn(() => true),
  startRegistration: vi.fn(),
}));
vi.mock('../api/list-passkeys', () => ({ listPasskeys: vi.fn() }));
vi.mock('../api/passkey-options', () => ({ passkeyOptions: vi.fn() }));
vi.mock('../api/add-passkey', () => ({ addPasskey: vi.fn() }));
vi.mock('../api/rename-passkey', () => ({ renamePasskey: vi.fn() }));
vi.mock('../api/delete-passkey', () => ({ deletePasskey: vi.fn() }));

const webauthn = vi.mocked(await import('@simplewebauthn/browser'));
const list = vi.mocked((await import('../api/list-passkeys')).listPasskeys);
const options = vi.mocked((await import('../api/passkey-options')).passkeyOptions);
const add = vi.mocked((await import('../api/add-passkey')).addPasskey);
const rename = vi.mocked((await import('../api/rename-passkey')).renamePasskey);
const del = vi.mocked((await import('../api/delete-passkey')).deletePasskey);

const problem = (status: number, code: string) => new ApiProblem({ type: 'about:blank', title: code, status, detail: '', code });

const pk = (id: string, name: string, kind: Passkey['kind'], last_used_at: string | null = null): Passkey => ({
  id,
  name,
  kind,
  created_at: '2026-12-01T10:00:00Z',
  last_used_at,
  backup_eligible: kind === 'synced',
  backed_up: kind === 'synced',
});

const publicKey = {
  challenge: 'Y2hhbGxlbmdl',
  rp: { id: 'localhost', name: 'CloudCX' },
  user: { id: 'dXNlcg', name: 'ana@acme.test', displayName: 'Ana' },
  pubKeyCredParams: [{ type: 'public-key' as const, alg: -7 }],
};
const credential = {
  id: 'cred',
  rawId: 'cred',
  type: 'public-key' as const,
  response: { clientDataJSON: 'e30', attestationObject: 'o2M' },
  clientExtensionResults: {},
};

function renderCard(ask = vi.fn(() => Promise.resolve()), onChanged = vi.fn()) {
  render(
    <ReauthContext.Provider value={ask}>
      <PasskeysCard onChanged={onChanged} />
    </ReauthContext.Provider>,
  );
  return { ask, onChanged };
}

describe('PasskeysCard', () => {
  beforeEach(() => {
    for (const m of [list, options, add, rename, del, webauthn.startRegistration]) m.mockReset();
    webauthn.browserSupportsWebAuthn.mockReturnValue(true);
  });

  it('lists passkeys with their kind, creation and last use', async () => {
    list.mockResolvedValue([pk('a', 'Work laptop', 'device_bound', '2026-12-02T08:00:00Z'), pk('b', 'Phone', 'synced')]);
    renderCard();
    const items = within(await screen.findByRole('list', { name: 'Your passkeys' })).getAllByRole('listitem');
    expect(items).toHaveLength(2);
    expect(items[0]!.textContent).toMatch(/Work laptop.*This device only/);
    expect(items[0]!.textContent).toContain('Last used');
    expect(items[1]!.textContent).toMatch(/Phone.*Synced/);
    expect(items[1]!.textContent).toContain('Never used');
    expect(items[0]!.querySelector('time')!.getAttribute('datetime')).toBe('2026-12-01T10:00:00Z');
  });

  it('says so when there is none', async () => {
    list.mockResolvedValue([]);
    renderCard();
    expect(await screen.findByText("You haven't added a passkey yet.")).toBeTruthy();
  });

  it('adds a passkey: name, the browser dialog, then the server', async () => {
    list.mockResolvedValueOnce([]).mockResolvedValueOnce([pk('n', 'Work laptop', 'synced')]);
    options.mockResolvedValue({ challengeId: 'ch1', publicKey });
    webauthn.startRegistration.mockResolvedValue(credential);
    add.mockResolvedValue(pk('n', 'Work laptop', 'synced'));
    const { ask, onChanged } = renderCard();
    await screen.findByText("You haven't added a passkey yet.");
    await userEvent.click(screen.getByRole('button', { name: 'Add a passkey' }));
    const dialog = screen.getByRole('dialog', { name: 'Add a passkey' });
    await userEvent.type(within(dialog).getByLabelText('Passkey name'), '  Work laptop ');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Continue' }));
    expect(webauthn.startRegistration).toHaveBeenCalledWith({ optionsJSON: publicKey });
    expect(add).toHaveBeenCalledWith('ch1', 'Work laptop', credential);
    expect(await screen.findByText('The passkey “Work laptop” was added. You can now sign in with it.')).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(await screen.findByText('Work laptop')).toBeTruthy();
    expect(onChanged).toHaveBeenCalledOnce();
    expect(ask).not.toHaveBeenCalled();
  });

  it('asks "Confirm it\'s you" on reauth_required, then runs the whole ceremony again', async () => {
    list.mockResolvedValue([]);
    options.mockRejectedValueOnce(problem(403, 'reauth_required')).mockResolvedValue({ challengeId: 'ch2', publicKey });
    webauthn.startRegistration.mockResolvedValue(credential);
    add.mockResolvedValue(pk('n', 'Passkey', 'device_bound'));
    const { ask } = renderCard();
    await userEvent.click(await screen.findByRole('button', { name: 'Add a passkey' }));
    await userEvent.click(screen.getByRole('button', { name: 'Continue' }));
    await screen.findByText(/The passkey “Passkey” was added/);
    expect(ask).toHaveBeenCalledOnce();
    expect(options).toHaveBeenCalledTimes(2);
    expect(add).toHaveBeenCalledWith('ch2', '', credential);
  });

  it('keeps the dialog open with a sentence when the browser dialog is cancelled', async () => {
    list.mockResolvedValue([]);
    options.mockResolvedValue({ challengeId: 'ch3', publicKey });
    webauthn.startRegistration.mockRejectedValue(Object.assign(new Error('The operation either timed out or was not allowed.'), { name: 'NotAllowedError' }));
    renderCard();
    await userEvent.click(await screen.findByRole('button', { name: 'Add a passkey' }));
    await userEvent.click(screen.getByRole('button', { name: 'Continue' }));
    const dialog = screen.getByRole('dialog', { name: 'Add a passkey' });
    expect((await within(dialog).findByRole('alert')).textContent).toBe('The passkey request was cancelled or timed out. Please try again.');
    expect(add).not.toHaveBeenCalled();
  });

  it('hides "Add a passkey" once the site answers passkeys_disabled', async () => {
    list.mockResolvedValue([pk('a', 'Old key', 'device_bound')]);
    options.mockRejectedValue(problem(403, 'passkeys_disabled'));
    renderCard();
    await userEvent.click(await screen.findByRole('button', { name: 'Add a passkey' }));
    await userEvent.click(screen.getByRole('button', { name: 'Continue' }));
    expect(await screen.findByText(PASSKEYS_OFF)).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Add a passkey' })).toBeNull();
    expect(webauthn.startRegistration).not.toHaveBeenCalled();
  });

  it('is not shown at all when the site refuses the list with passkeys_disabled', async () => {
    list.mockRejectedValue(problem(403, 'passkeys_disabled'));
    renderCard();
    await waitFor(() => expect(list).toHaveBeenCalled());
    await waitFor(() => expect(screen.queryByRole('heading', { name: 'Passkeys' })).toBeNull());
  });

  it('explains a browser without WebAuthn and offers no add', async () => {
    webauthn.browserSupportsWebAuthn.mockReturnValue(false);
    list.mockResolvedValue([]);
    renderCard();
    expect(await screen.findByText(/This browser doesn't support passkeys/)).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Add a passkey' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('renames inline', async () => {
    list.mockResolvedValue([pk('a', 'Key', 'device_bound')]);
    rename.mockResolvedValue(pk('a', 'YubiKey 5', 'device_bound'));
    renderCard();
    await userEvent.click(await screen.findByRole('button', { name: 'Rename Key' }));
    const field = screen.getByLabelText('New name') as HTMLInputElement;
    expect(field.value).toBe('Key');
    await userEvent.clear(field);
    expect((screen.getByRole('button', { name: 'Save' }) as HTMLButtonElement).disabled).toBe(true);
    await userEvent.type(field, 'YubiKey 5{Enter}');
    expect(rename).toHaveBeenCalledWith('a', 'YubiKey 5');
    expect(await screen.findByText('The passkey is now called “YubiKey 5”.')).toBeTruthy();
    expect(screen.queryByLabelText('New name')).toBeNull();
    expect(screen.getByRole('button', { name: 'Rename YubiKey 5' })).toBeTruthy();
  });

  it('cancels a rename with Escape', async () => {
    list.mockResolvedValue([pk('a', 'Key', 'device_bound')]);
    renderCard();
    await userEvent.click(await screen.findByRole('button', { name: 'Rename Key' }));
    await userEvent.type(screen.getByLabelText('New name'), 'x{Escape}');
    expect(screen.queryByLabelText('New name')).toBeNull();
    expect(rename).not.toHaveBeenCalled();
  });

  it('removes after a confirmation, with a fresh sign-in when asked', async () => {
    list.mockResolvedValueOnce([pk('a', 'Key', 'device_bound')]).mockResolvedValueOnce([]);
    del.mockRejectedValueOnce(problem(403, 'reauth_required')).mockResolvedValue(undefined);
    const { ask, onChanged } = renderCard();
    await userEvent.click(await screen.findByRole('button', { name: 'Remove Key' }));
    const dialog = screen.getByRole('dialog', { name: 'Remove this passkey?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Remove' }));
    expect(ask).toHaveBeenCalledOnce();
    expect(del).toHaveBeenCalledTimes(2);
    expect(del).toHaveBeenCalledWith('a');
    expect(await screen.findByText(/The passkey “Key” was removed/)).toBeTruthy();
    expect(await screen.findByText("You haven't added a passkey yet.")).toBeTruthy();
    expect(onChanged).toHaveBeenCalledOnce();
  });

  it('cancelling the removal changes nothing', async () => {
    list.mockResolvedValue([pk('a', 'Key', 'device_bound')]);
    renderCard();
    await userEvent.click(await screen.findByRole('button', { name: 'Remove Key' }));
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(del).not.toHaveBeenCalled();
  });
});
