import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ReauthContext } from '@/lib/reauth';
import type { Session } from '../api/list-sessions';
import { DevicesCard } from './DevicesCard';
import { deviceName, orderSessions } from './sessions';

vi.mock('../api/list-sessions', () => ({ listSessions: vi.fn() }));
vi.mock('../api/delete-session', () => ({ deleteSession: vi.fn() }));
vi.mock('../api/revoke-other-sessions', () => ({ revokeOtherSessions: vi.fn() }));
vi.mock('../api/trusted-devices', () => ({
  listTrustedDevices: vi.fn().mockResolvedValue([]),
  forgetTrustedDevice: vi.fn(),
  forgetAllTrustedDevices: vi.fn(),
}));
const list = vi.mocked((await import('../api/list-sessions')).listSessions);
const del = vi.mocked((await import('../api/delete-session')).deleteSession);
const others = vi.mocked((await import('../api/revoke-other-sessions')).revokeOtherSessions);

const s = (id: string, device: string, current = false): Session => ({
  id,
  device,
  current,
  ip: '203.0.113.7',
  user_agent: 'UA',
  created_at: '2026-11-01T10:00:00Z',
  last_used_at: '2026-11-01T11:00:00Z',
});

function renderCard() {
  render(
    <ReauthContext.Provider value={() => Promise.resolve()}>
      <DevicesCard />
    </ReauthContext.Provider>,
  );
}

describe('orderSessions', () => {
  it('puts this device first and keeps the rest in order', () => {
    const ordered = orderSessions([s('a', 'A'), s('b', 'B', true), s('c', 'C')]);
    expect(ordered.map((x) => x.id)).toEqual(['b', 'a', 'c']);
    expect(deviceName({ device: '  ' })).toBe('Unknown device');
  });
});

describe('DevicesCard', () => {
  beforeEach(() => {
    list.mockReset();
    del.mockReset();
    others.mockReset();
  });

  it('lists devices with a badge on this one and signs another out', async () => {
    list.mockResolvedValueOnce([s('a', 'Firefox on Linux'), s('b', 'Chrome on Windows', true)]);
    list.mockResolvedValueOnce([s('b', 'Chrome on Windows', true)]);
    del.mockResolvedValue(undefined);
    renderCard();
    const items = within(await screen.findByRole('list', { name: 'Signed-in devices' })).getAllByRole('listitem');
    expect(items[0]!.textContent).toMatch(/Chrome on Windows.*This device/);
    expect(within(items[0]!).queryByRole('button')).toBeNull();
    expect(items[1]!.textContent).toContain('203.0.113.7');
    await userEvent.click(screen.getByRole('button', { name: 'Sign out Firefox on Linux (203.0.113.7)' }));
    expect(del).toHaveBeenCalledWith('a');
    expect(await screen.findByText('Firefox on Linux was signed out.')).toBeTruthy();
    expect(await screen.findByText('No other device is signed in.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Sign out other devices' })).toBeNull();
  });

  it('signs out every other device', async () => {
    list.mockResolvedValue([s('a', 'Firefox on Linux'), s('b', 'Chrome on Windows', true)]);
    others.mockResolvedValue(undefined);
    renderCard();
    await userEvent.click(await screen.findByRole('button', { name: 'Sign out other devices' }));
    expect(others).toHaveBeenCalledOnce();
    expect(await screen.findByText('Your other devices were signed out.')).toBeTruthy();
  });

  it('shows loading, then an empty state', async () => {
    let resolve: (v: Session[]) => void = () => {};
    list.mockReturnValue(new Promise((r) => (resolve = r)));
    renderCard();
    expect(screen.getByText('Loading devices…')).toBeTruthy();
    resolve([]);
    expect(await screen.findByText('No devices are signed in.')).toBeTruthy();
  });
});
