import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { TrustedDevice } from '../api/trusted-devices';
import { TrustedDevices } from './TrustedDevices';

vi.mock('../api/trusted-devices', () => ({
  listTrustedDevices: vi.fn(),
  forgetTrustedDevice: vi.fn(),
  forgetAllTrustedDevices: vi.fn(),
}));
const api = vi.mocked(await import('../api/trusted-devices'));

const d = (id: string, label: string, current = false): TrustedDevice => ({
  id,
  label,
  current,
  created_at: '2026-11-01T10:00:00Z',
  expires_at: '2026-12-01T10:00:00Z',
  last_used_at: null,
});

describe('TrustedDevices', () => {
  beforeEach(() => Object.values(api).forEach((f) => f.mockReset()));

  it('lists each trusted device with the date it is trusted until and marks this one', async () => {
    api.listTrustedDevices.mockResolvedValue([d('a', 'Chrome on Linux', true), d('b', 'Firefox on Windows')]);
    render(<TrustedDevices />);
    const items = within(await screen.findByRole('list', { name: 'Trusted devices' })).getAllByRole('listitem');
    expect(items).toHaveLength(2);
    expect(items[0]!.textContent).toMatch(/Chrome on Linux.*This device/);
    expect(items[0]!.textContent).toContain('Trusted until');
    expect(items[0]!.querySelector('time')?.getAttribute('dateTime')).toBe('2026-12-01T10:00:00Z');
    expect(items[1]!.textContent).not.toContain('This device');
  });

  it('says so when no device is trusted, without a "Forget all"', async () => {
    api.listTrustedDevices.mockResolvedValue([]);
    render(<TrustedDevices />);
    expect(await screen.findByText('No device is trusted.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Forget all' })).toBeNull();
  });

  it('forgets one device and reloads the list', async () => {
    api.listTrustedDevices
      .mockResolvedValueOnce([d('a', 'Chrome on Linux', true), d('b', 'Firefox on Windows')])
      .mockResolvedValueOnce([d('a', 'Chrome on Linux', true)]);
    api.forgetTrustedDevice.mockResolvedValue(undefined);
    render(<TrustedDevices />);
    await userEvent.click(await screen.findByRole('button', { name: 'Forget Firefox on Windows' }));
    expect(api.forgetTrustedDevice).toHaveBeenCalledWith('b');
    expect(await screen.findByText('Firefox on Windows will ask for the second factor again.')).toBeTruthy();
    await waitFor(() => expect(screen.getAllByRole('listitem')).toHaveLength(1));
  });

  it('forgets all devices', async () => {
    api.listTrustedDevices.mockResolvedValueOnce([d('a', 'Chrome on Linux', true), d('b', 'Firefox on Windows')]).mockResolvedValueOnce([]);
    api.forgetAllTrustedDevices.mockResolvedValue(undefined);
    render(<TrustedDevices />);
    await userEvent.click(await screen.findByRole('button', { name: 'Forget all' }));
    expect(api.forgetAllTrustedDevices).toHaveBeenCalledTimes(1);
    expect(await screen.findByText('No device is trusted.')).toBeTruthy();
  });
});
