import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ReauthContext } from '@/lib/reauth';
import { SettingsPanel, parseRememberDays } from './SettingsPanel';

vi.mock('../api/settings', () => ({ getSettings: vi.fn(), patchSettings: vi.fn() }));
const settings = vi.mocked(await import('../api/settings'));

const defaults = {
  require_2fa: false,
  passkeys_enabled: true,
  remember_device: true,
  remember_device_days: 30,
  remembered_device_acr: 'aal2' as const,
};

function renderPanel() {
  // The re-authentication wrapper runs the change at once here (admin-reauth.test covers the dialog).
  render(
    <ReauthContext.Provider value={() => Promise.resolve()}>
      <SettingsPanel />
    </ReauthContext.Provider>,
  );
}

describe('parseRememberDays', () => {
  it('takes whole numbers from 1 to 90 only', () => {
    expect(parseRememberDays('1')).toBe(1);
    expect(parseRememberDays(' 90 ')).toBe(90);
    for (const bad of ['0', '91', '7.5', '', 'x', '-3', '100']) expect(parseRememberDays(bad)).toBeNull();
  });
});

describe('SettingsPanel', () => {
  beforeEach(() => {
    settings.getSettings.mockReset().mockResolvedValue(defaults);
    // The answer is the whole settings with what was sent applied.
    settings.patchSettings.mockReset().mockImplementation(async (patch) => {
      const changed = Object.fromEntries(Object.entries(patch).filter(([, v]) => v != null));
      return { ...defaults, ...changed };
    });
  });

  it('turns passkeys off sending only that field', async () => {
    renderPanel();
    await userEvent.click(await screen.findByLabelText('Allow passkeys'));
    expect(settings.patchSettings).toHaveBeenCalledWith({ passkeys_enabled: false });
    await waitFor(() => expect((screen.getByLabelText('Allow passkeys') as HTMLInputElement).checked).toBe(false));
  });

  it('turns remembering devices off sending only that field', async () => {
    renderPanel();
    await userEvent.click(await screen.findByLabelText('Allow "Remember this device"'));
    expect(settings.patchSettings).toHaveBeenCalledWith({ remember_device: false });
  });

  it('saves the days only when they changed and are from 1 to 90', async () => {
    renderPanel();
    const days = (await screen.findByLabelText('Remember devices for (days)')) as HTMLInputElement;
    const save = screen.getByRole('button', { name: 'Save' });
    // The field takes the loaded value in an effect, after the input is first rendered.
    await waitFor(() => expect(days.value).toBe('30'));
    expect((save as HTMLButtonElement).disabled).toBe(true);
    await userEvent.clear(days);
    await userEvent.type(days, '91');
    expect(screen.getByText('Enter a whole number from 1 to 90.')).toBeTruthy();
    expect((save as HTMLButtonElement).disabled).toBe(true);
    await userEvent.clear(days);
    await userEvent.type(days, '14');
    await userEvent.click(save);
    expect(settings.patchSettings).toHaveBeenCalledTimes(1);
    expect(settings.patchSettings).toHaveBeenCalledWith({ remember_device_days: 14 });
  });

  it('chooses the assurance level of a remembered sign-in', async () => {
    renderPanel();
    await userEvent.selectOptions(await screen.findByLabelText('Assurance level of a remembered sign-in'), 'aal1');
    expect(settings.patchSettings).toHaveBeenCalledWith({ remembered_device_acr: 'aal1' });
  });

  it('still sends require_2fa alone', async () => {
    renderPanel();
    await userEvent.click(await screen.findByLabelText('Require 2FA for everyone'));
    expect(settings.patchSettings).toHaveBeenCalledWith({ require_2fa: true });
  });
});
